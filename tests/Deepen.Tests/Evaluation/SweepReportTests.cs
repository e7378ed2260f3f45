using System.Text.Json.Nodes;
using Deepen.Evaluation;
using Deepen.Evaluation.Reports;
using Deepen.Evaluation.Tasks;

namespace Deepen.Tests.Evaluation;

/// <summary>A sweep over recurrences writes results.json, report.md, a PNG per task and samples.jsonl, with the numbers the runs produced.</summary>
public class SweepReportTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public void SweepWritesResultsReportPlotsAndSamples()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path), NumFewshot = 0 });
        var bad = new ScriptedModel(_ => " I am not sure.", "toy");
        var good = new ScriptedModel(GenerativeQaTaskTests.Answer, "toy");
        var logs = new List<string>();
        var outDir = tmp["out"];

        var sweep = EvalRunner.Run([task], [1, 4], r => r == 1 ? bad : good,
            new EvalRunOptions { OutputDir = outDir, Log = logs.Add, Info = new Dictionary<string, string> { ["seed"] = "0" } });

        Assert.Equal(0.0, sweep.Find("gsm8k-cot", GenerativeQaTask.FlexibleMetric, 1)!.Value);
        Assert.Equal(0.75, sweep.Find("gsm8k-cot", GenerativeQaTask.FlexibleMetric, 4)!.Value);
        Assert.Equal("toy", sweep.Info["model"]);
        Assert.Contains(logs, l => l.StartsWith("gsm8k-cot r=4: exact_match,strict-match 0.5000, exact_match,flexible-extract 0.7500 (n=4"));

        // results.json round-trips.
        var loaded = SweepResult.Load(Path.Combine(outDir, SweepReport.ResultsFile));
        Assert.Equal(sweep.Points.Select(p => (p.Task, p.Metric, p.Recurrence, p.Value, p.Stderr, p.N, p.TokensGenerated)),
                     loaded.Points.Select(p => (p.Task, p.Metric, p.Recurrence, p.Value, p.Stderr, p.N, p.TokensGenerated)));
        Assert.Equal("0", loaded.Info["seed"]);

        // report.md: one row per recurrence, one column per metric.
        var md = File.ReadAllText(Path.Combine(outDir, SweepReport.ReportFile));
        Assert.Contains("## gsm8k-cot", md);
        Assert.Contains("![gsm8k-cot](gsm8k-cot.png)", md);
        Assert.Contains("| recurrence | exact_match,strict-match | exact_match,flexible-extract | n | seconds | tokens |", md);
        Assert.Contains("| 1 | 0.0000 ± 0.0000 | 0.0000 ± 0.0000 | 4 |", md);
        Assert.Contains("| 4 | 0.5000 ± 0.2887 | 0.7500 ± 0.2500 | 4 |", md);
        Assert.Contains("- model: toy", md);

        // The plot is a real PNG of the requested size (IHDR width and height follow the signature).
        var png = File.ReadAllBytes(Path.Combine(outDir, "gsm8k-cot.png"));
        Assert.Equal(PngSignature, png[..8]);
        Assert.Equal((800, 500), (BigEndian(png, 16), BigEndian(png, 20)));

        // samples.jsonl: 4 documents × 2 recurrences, each checkable by hand.
        var lines = File.ReadAllLines(Path.Combine(outDir, SweepReport.SamplesFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(8, lines.Count);
        var last = lines[^1];
        Assert.Equal(4, last["recurrence"]!.GetValue<int>());
        Assert.Equal(3, last["doc"]!.GetValue<int>());
        Assert.Equal(" It costs $100.", last["completion"]!.GetValue<string>());
        Assert.Equal("$100.", last["extracted"]!["flexible-extract"]!.GetValue<string>());
        Assert.Equal("100", last["gold"]!.GetValue<string>());
        Assert.True(last["correct"]![GenerativeQaTask.FlexibleMetric]!.GetValue<bool>());
        Assert.False(last["correct"]![GenerativeQaTask.StrictMetric]!.GetValue<bool>());
        Assert.StartsWith("Q: A book costs $25.", last["prompt"]!.GetValue<string>());

        // Nothing temporary is left behind.
        Assert.Equal(["gsm8k-cot.png", "report.md", "results.json", "samples.jsonl"], Directory.GetFiles(outDir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void ExternallyProducedLossPointsFitTheSameReport()
    {
        using var tmp = new TestPaths.TempDir();
        var sweep = new SweepResult();
        sweep.Add(new[] { 1, 2, 4, 8 }.Select(r => new SweepPoint("loss", "loss", r, 3.0 / r, null, 4096, 1.5, 0)));
        SweepReport.Write(tmp.Path, sweep);
        var md = File.ReadAllText(tmp["report.md"]);
        Assert.Contains("| recurrence | loss | n | seconds | tokens |", md);
        Assert.Contains("| 8 | 0.3750 | 4096 | 1.5 | 0 |", md);
        Assert.Equal(PngSignature, File.ReadAllBytes(tmp["loss.png"])[..8]);
    }

    [Fact]
    public void LinePlotWritesPngAndRejectsMismatchedSeries()
    {
        using var tmp = new TestPaths.TempDir();
        LinePlot.Write(tmp["curve.png"], "train loss", "step", "loss",
            [new LineSeries("r=4", [0, 1, 2, 3], [5, 4, 3.5, double.NaN]), new LineSeries("r=8", [0, 1, 2], [5, 3.9, 3.2])]);
        Assert.Equal(PngSignature, File.ReadAllBytes(tmp["curve.png"])[..8]);
        Assert.Throws<ArgumentException>(() => LinePlot.Render("t", "x", "y", [new LineSeries("bad", [1, 2], [1])]));
    }

    [Fact]
    public void RunnerRejectsBadRecurrencesAndDuplicateTasks()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path) });
        var model = new ScriptedModel(_ => "");
        Assert.Contains("at least 1", Assert.Throws<DeepenException>(() => EvalRunner.Run([task], [0, 2], _ => model)).Message);
        Assert.Contains("listed twice", Assert.Throws<DeepenException>(() => EvalRunner.Run([task, task], [1], _ => model)).Message);
    }

    [Fact]
    public void FailedSweepLeavesNoSamplesFile()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path) });
        var model = new ScriptedModel(_ => throw new InvalidOperationException("model failed"));
        Assert.Throws<InvalidOperationException>(() => EvalRunner.Run([task], [1], _ => model, new EvalRunOptions { OutputDir = tmp["out"] }));
        Assert.Empty(Directory.GetFiles(tmp["out"]));
    }

    private static int BigEndian(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}
