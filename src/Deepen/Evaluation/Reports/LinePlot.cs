using Deepen.Checkpoints;
using ScottPlot;

namespace Deepen.Evaluation.Reports;

/// <summary>One line of a plot: points (x, y) with optional ± error bars.</summary>
/// <param name="Dashed">Draw a dashed line without markers (e.g. a plain baseline's single value drawn across the x range).</param>
public sealed record LineSeries(string Label, IReadOnlyList<double> Xs, IReadOnlyList<double> Ys, IReadOnlyList<double>? Errors = null, bool Dashed = false);

/// <summary>Axes and size of a line plot.</summary>
/// <param name="Log2X">Place x at log2(x) and label the ticks with the x values themselves (recurrence 1, 2, 4, ... evenly spaced).</param>
/// <param name="YMin">Lower y limit, or automatic.</param>
/// <param name="YMax">Upper y limit, or automatic.</param>
public sealed record PlotStyle(bool Log2X = false, double? YMin = null, double? YMax = null, int Width = 800, int Height = 500);

/// <summary>Line plots as PNG (ScottPlot): accuracy vs recurrence, loss curves, anything with lines of (x, y).</summary>
public static class LinePlot
{
    /// <summary>Renders the plot to PNG bytes. Non-finite points are left out.</summary>
    public static byte[] Render(string title, string xLabel, string yLabel, IReadOnlyList<LineSeries> series, PlotStyle? style = null)
    {
        style ??= new PlotStyle();
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var ticks = new SortedSet<double>();
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.Xs.Count != s.Ys.Count || (s.Errors is not null && s.Errors.Count != s.Ys.Count))
                throw new ArgumentException($"series '{s.Label}': {s.Xs.Count} x, {s.Ys.Count} y, {s.Errors?.Count} errors; expected equal counts.", nameof(series));
            var keep = Enumerable.Range(0, s.Xs.Count)
                .Where(j => double.IsFinite(s.Xs[j]) && double.IsFinite(s.Ys[j]) && (!style.Log2X || s.Xs[j] > 0)).ToList();
            if (keep.Count == 0) continue;
            double[] xs = keep.Select(j => style.Log2X ? Math.Log2(s.Xs[j]) : s.Xs[j]).ToArray();
            double[] ys = keep.Select(j => s.Ys[j]).ToArray();
            foreach (var j in keep) ticks.Add(s.Xs[j]);
            var color = palette.GetColor(i);
            if (s.Errors is not null)
            {
                double[] es = keep.Select(j => double.IsFinite(s.Errors[j]) ? s.Errors[j] : 0).ToArray();
                var bars = plot.Add.ErrorBar(xs, ys, es);
                bars.Color = color;
            }
            var line = plot.Add.Scatter(xs, ys);
            line.Color = color;
            line.LegendText = s.Label;
            line.MarkerSize = s.Dashed ? 0 : 7;
            line.LineWidth = 2;
            if (s.Dashed) line.LinePattern = LinePattern.Dashed;
        }
        if (style.Log2X && ticks.Count > 0)
            plot.Axes.Bottom.SetTicks(ticks.Select(Math.Log2).ToArray(), ticks.Select(t => t.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (style.YMin is not null || style.YMax is not null)
        {
            plot.Axes.AutoScale();
            var limits = plot.Axes.GetLimits();
            plot.Axes.SetLimitsY(style.YMin ?? limits.Bottom, style.YMax ?? limits.Top);
        }
        if (series.Count > 1) plot.ShowLegend(Alignment.LowerRight);
        return plot.GetImageBytes(style.Width, style.Height, ImageFormat.Png);
    }

    /// <summary>Renders the plot and writes it to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, string title, string xLabel, string yLabel, IReadOnlyList<LineSeries> series, PlotStyle? style = null) =>
        AtomicFile.WriteAllBytes(path, Render(title, xLabel, yLabel, series, style));
}
