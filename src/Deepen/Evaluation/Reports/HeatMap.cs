using System.Globalization;
using ScottPlot;

namespace Deepen.Evaluation.Reports;

/// <summary>
/// A grid of values in [0, 100] (e.g. accuracy in % by difficulty and test recurrence) as a PNG: one coloured cell per
/// value, the value written in the cell, columns and rows labelled. Cells without a value (NaN) are left blank.
/// </summary>
public static class HeatMap
{
    /// <param name="values">values[row, column]; row 0 is drawn at the top.</param>
    public static byte[] Render(string title, string xLabel, string yLabel, IReadOnlyList<string> columns, IReadOnlyList<string> rows,
        double[,] values, int width = 800, int height = 600)
    {
        if (values.GetLength(0) != rows.Count || values.GetLength(1) != columns.Count)
            throw new ArgumentException($"heat map: values are {values.GetLength(0)}×{values.GetLength(1)} but there are {rows.Count} rows and {columns.Count} columns.", nameof(values));
        var plot = new Plot();
        var colormap = new ScottPlot.Colormaps.Viridis();
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < columns.Count; c++)
            {
                double v = values[r, c];
                if (!double.IsFinite(v)) continue;
                double top = rows.Count - r, bottom = top - 1;
                var cell = plot.Add.Rectangle(c, c + 1, bottom, top);
                cell.FillColor = colormap.GetColor(Math.Clamp(v / 100.0, 0, 1));
                cell.LineWidth = 0;
                var text = plot.Add.Text(v.ToString("F0", CultureInfo.InvariantCulture), c + 0.5, bottom + 0.5);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = 13;
                text.LabelFontColor = v > 60 ? Colors.Black : Colors.White;
            }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, columns.Count).Select(c => c + 0.5).ToArray(), columns.ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, rows.Count).Select(r => rows.Count - r - 0.5).ToArray(), rows.ToArray());
        plot.Axes.SetLimits(0, columns.Count, 0, rows.Count);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }
}
