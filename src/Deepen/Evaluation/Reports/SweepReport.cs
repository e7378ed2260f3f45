using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Deepen.Evaluation.Reports;

/// <summary>
/// A sweep's files: <c>results.json</c> (every point), <c>report.md</c> (per task a table, rows =
/// recurrence, columns = metrics as "value ± stderr", plus n, seconds and tokens) and one PNG per task
/// (its metrics vs recurrence, log2 x axis). All written atomically.
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
                LinePlot.Write(Path.Combine(dir, PlotFileName(task)), $"{task} vs test-time recurrence", "recurrence", YLabel(sweep.MetricsOf(task)),
                    Series(sweep, task), new PlotStyle(Log2X: true));
        AtomicFile.WriteAllText(Path.Combine(dir, ReportFile), Markdown(sweep, plots));
    }

    /// <summary>The plot file of a task: its name with characters other than letters, digits, '-', '_' and '.' replaced by '_', plus ".png".</summary>
    public static string PlotFileName(string task) =>
        new string(task.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()) + ".png";

    /// <summary>One line per metric of <paramref name="task"/>: value vs recurrence with stderr bars.</summary>
    public static IReadOnlyList<LineSeries> Series(SweepResult sweep, string task)
    {
        var rs = sweep.RecurrencesOf(task);
        return sweep.MetricsOf(task).Select(m =>
        {
            var pts = rs.Select(r => sweep.Find(task, m, r)).OfType<SweepPoint>().ToList();
            return new LineSeries(m, pts.Select(p => (double)p.Recurrence).ToList(), pts.Select(p => p.Value).ToList(),
                pts.Select(p => p.Stderr ?? 0).ToList());
        }).ToList();
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

    /// <summary>A task's table: rows = recurrence, columns = metrics, then n, seconds, tokens.</summary>
    public static string Table(SweepResult sweep, string task)
    {
        var metrics = sweep.MetricsOf(task);
        var sb = new StringBuilder("| recurrence | " + string.Join(" | ", metrics) + " | n | seconds | tokens |\n");
        sb.Append("|---:|" + string.Concat(metrics.Select(_ => "---:|")) + "---:|---:|---:|\n");
        foreach (var r in sweep.RecurrencesOf(task))
        {
            var points = metrics.Select(m => sweep.Find(task, m, r)).ToList();
            var any = points.OfType<SweepPoint>().First();
            sb.Append($"| {r} | ");
            sb.Append(string.Join(" | ", points.Select(p => p is null ? "" : Cell(p))));
            sb.Append(FormattableString.Invariant($" | {any.N} | {any.Seconds:F1} | {any.TokensGenerated} |\n"));
        }
        return sb.ToString();
    }

    private static string Cell(SweepPoint p) =>
        p.Stderr is { } s ? FormattableString.Invariant($"{p.Value:F4} ± {s:F4}") : p.Value.ToString("F4", CultureInfo.InvariantCulture);

    private static string YLabel(IReadOnlyList<string> metrics) =>
        metrics.All(m => m.StartsWith("exact_match", StringComparison.Ordinal) || m.StartsWith("acc", StringComparison.Ordinal)) ? "accuracy"
        : metrics.Count == 1 ? metrics[0] : "value";
}
