using Deepen.Checkpoints;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Deepen.Evaluation.Reports;

/// <summary>
/// A sweep's files: <c>results.json</c> (every point), <c>report.md</c> (per task a table, rows =
/// (model,) recurrence, columns = metrics as "value ± stderr", plus n, seconds and tokens) and one PNG per task
/// (its metrics vs recurrence, one line per model and metric, log2 x axis). All written atomically.
/// </summary>
public static class SweepReport
{
    /// <summary>File names in the output directory.</summary>
    public const string ResultsFile = "results.json", ReportFile = "report.md", SamplesFile = "samples.jsonl";

    /// <summary>Writes <c>results.json</c>, <c>report.md</c> and (with <paramref name="plots"/>) <c>{task}.png</c> into <paramref name="dir"/>.</summary>
    public static void Write(string dir, SweepResult sweep, bool plots = true)
    {
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, ResultsFile), sweep.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        if (plots)
            foreach (var task in sweep.Tasks)
                LinePlot.Write(Path.Combine(dir, PlotFileName(task)), Title(sweep, task), "recurrence", YLabel(sweep.MetricsOf(task)),
                    Series(sweep, task), new PlotStyle(Log2X: true, YMin: YLabel(sweep.MetricsOf(task)) == "accuracy" ? 0 : null));
        AtomicFile.WriteAllText(Path.Combine(dir, ReportFile), Markdown(sweep, plots));
    }

    /// <summary>The plot file of a task: its name with characters other than letters, digits, '-', '_' and '.' replaced by '_', plus ".png".</summary>
    public static string PlotFileName(string task) =>
        new string(task.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()) + ".png";

    /// <summary>
    /// One line per model and metric of <paramref name="task"/>: value vs recurrence with stderr bars. A model with a single
    /// recurrence (a plain baseline) is a dashed horizontal line across the recurrences of the others, so a recurrent model and
    /// its non-recurrent baseline can be compared in one picture. Labels name the model when there is more than one.
    /// </summary>
    public static IReadOnlyList<LineSeries> Series(SweepResult sweep, string task)
    {
        var all = sweep.RecurrencesOf(task);
        var models = sweep.ModelsOf(task);
        var series = new List<LineSeries>();
        foreach (var model in models)
        {
            var rs = sweep.RecurrencesOf(task, model);
            foreach (var m in sweep.MetricsOf(task))
            {
                var pts = rs.Select(r => sweep.Find(task, m, r, model)).OfType<SweepPoint>().ToList();
                if (pts.Count == 0) continue;
                var label = models.Count > 1 ? $"{model ?? "(unlabelled)"}: {m}" : m;
                if (pts.Count == 1 && all.Count > 1)
                    series.Add(new LineSeries($"{label} (r={pts[0].Recurrence})", [all[0], all[^1]], [pts[0].Value, pts[0].Value], Dashed: true));
                else
                    series.Add(new LineSeries(label, pts.Select(p => (double)p.Recurrence).ToList(), pts.Select(p => p.Value).ToList(),
                        pts.Select(p => p.Stderr ?? 0).ToList()));
            }
        }
        return series;
    }

    /// <summary>The report: a header with the run information, then per task its plot and table.</summary>
    public static string Markdown(SweepResult sweep, bool plots = true)
    {
        var sb = new StringBuilder("# Evaluation vs test-time recurrence\n\n");
        foreach (var (k, v) in sweep.Info) sb.Append($"- {k}: {v}\n");
        if (sweep.Info.Count > 0) sb.Append('\n');
        sb.Append("Values are means over documents ± standard error (lm-eval's mean_stderr); seconds and tokens are per task and recurrence.\n");
        foreach (var task in sweep.Tasks)
        {
            sb.Append($"\n## {task}\n\n");
            if (plots) sb.Append($"![{task}]({PlotFileName(task)})\n\n");
            sb.Append(Table(sweep, task));
        }
        return sb.ToString();
    }

    /// <summary>A task's table in Markdown: rows = (model,) recurrence; columns = metrics, then n, seconds, tokens.</summary>
    public static string Table(SweepResult sweep, string task)
    {
        var rows = Rows(sweep, task);
        var sb = new StringBuilder("| " + string.Join(" | ", rows[0]) + " |\n");
        sb.Append('|' + string.Concat(rows[0].Select(h => h == "model" ? "---|" : "---:|")) + '\n');
        foreach (var row in rows.Skip(1)) sb.Append("| " + string.Join(" | ", row) + " |\n");
        return sb.ToString();
    }

    /// <summary>The same table as plain text with aligned columns, for a terminal.</summary>
    public static string TextTable(SweepResult sweep, string task)
    {
        var rows = Rows(sweep, task);
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var row in rows)
            sb.Append(string.Join("  ", row.Select((cell, c) => rows[0][c] == "model" ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd()).Append('\n');
        return sb.ToString();
    }

    /// <summary>Header and cells of a task's table; a model column only when the points carry model labels.</summary>
    private static List<string[]> Rows(SweepResult sweep, string task)
    {
        var metrics = sweep.MetricsOf(task);
        var models = sweep.ModelsOf(task);
        bool labelled = models.Any(m => m is not null);
        string[] lead = labelled ? ["model"] : [];
        var rows = new List<string[]>();
        rows.Add([.. lead, "recurrence", .. metrics, "n", "seconds", "tokens"]);
        foreach (var model in models)
            foreach (var r in sweep.RecurrencesOf(task, model))
            {
                var points = metrics.Select(m => sweep.Find(task, m, r, model)).ToList();
                var any = points.OfType<SweepPoint>().First();
                string[] name = labelled ? [model ?? ""] : [];
                rows.Add([.. name, r.ToString(CultureInfo.InvariantCulture),
                    .. points.Select(p => p is null ? "" : Cell(p)),
                    any.N.ToString(CultureInfo.InvariantCulture), any.Seconds.ToString("F1", CultureInfo.InvariantCulture),
                    any.TokensGenerated.ToString(CultureInfo.InvariantCulture)]);
            }
        return rows;
    }

    private static string Cell(SweepPoint p) =>
        p.Stderr is { } s ? FormattableString.Invariant($"{p.Value:F4} ± {s:F4}") : p.Value.ToString("F4", CultureInfo.InvariantCulture);

    private static string Title(SweepResult sweep, string task) =>
        sweep.ModelsOf(task) is [{ } only] ? $"{task} vs test-time recurrence ({only})" : $"{task} vs test-time recurrence";

    private static string YLabel(IReadOnlyList<string> metrics) =>
        metrics.All(m => m.StartsWith("exact_match", StringComparison.Ordinal) || m.StartsWith("acc", StringComparison.Ordinal)) ? "accuracy"
        : metrics.Count == 1 ? metrics[0] : "value";
}
