using System.Text.Json.Nodes;
using Deepen.Evaluation;
using Deepen.Evaluation.Reports;
using Deepen.Evaluation.Tasks;

namespace Deepen.Tests.Evaluation;

/// <summary>
/// Sweeps over several models with scripted models: points and samples carry the model label, the plot has a line per
/// model and metric with a one-recurrence model drawn across the axis, tables gain a model column, results.json keeps it.
/// </summary>
public class MultiModelSweepTests
{
    [Fact]
    public void TwoModelsShareOneReportPlotAndSamplesFile()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path), NumFewshot = 0 });
        var bad = new ScriptedModel(_ => " I am not sure.", "rec@r1");
        var good = new ScriptedModel(GenerativeQaTaskTests.Answer, "rec@r4");
        var plain = new ScriptedModel(p => p.Contains("eggs") ? " The answer is 12." : " no idea", "plain");
        int released = 0;
        var logs = new List<string>();
        var outDir = tmp["out"];

        var sweep = EvalRunner.Run([task],
        [
            new EvalModel("rec", [1, 4], r => r == 1 ? bad : good) { Release = () => released++, Cost = r => r },
            new EvalModel("base", [1], _ => plain) { Release = () => released += 10 },
        ], new EvalRunOptions { OutputDir = outDir, Log = logs.Add });

        Assert.Equal(11, released);
        Assert.Equal(["rec", "base"], sweep.Models);
        Assert.Equal(0.75, sweep.Find("gsm8k-cot", GenerativeQaTask.FlexibleMetric, 4, "rec")!.Value);
        Assert.Equal(0.25, sweep.Find("gsm8k-cot", GenerativeQaTask.FlexibleMetric, 1, "base")!.Value);
        Assert.Null(sweep.Find("gsm8k-cot", GenerativeQaTask.FlexibleMetric, 1));   // every point is labelled
        Assert.Contains(logs, l => l.StartsWith("base gsm8k-cot r=1: 4/4 requests (pass 3/3, 100%"));
        // The cost weights passes: rec r=1 (1 × 4 requests) of 4 + 16 + 4 units.
        Assert.Contains(logs, l => l.StartsWith("rec gsm8k-cot r=1: 4/4 requests (pass 1/3, 17%"));

        var loaded = SweepResult.Load(Path.Combine(outDir, SweepReport.ResultsFile));
        Assert.Equal(sweep.Points.Select(p => (p.Model, p.Recurrence, p.Metric, p.Value)), loaded.Points.Select(p => (p.Model, p.Recurrence, p.Metric, p.Value)));

        // One line per model and metric; the plain model's single value spans the recurrence axis, dashed.
        var series = SweepReport.Series(loaded, "gsm8k-cot");
        Assert.Equal(["rec: exact_match,strict-match", "rec: exact_match,flexible-extract",
                      "base: exact_match,strict-match (r=1)", "base: exact_match,flexible-extract (r=1)"], series.Select(s => s.Label));
        var flat = series[3];
        Assert.True(flat.Dashed);
        Assert.Equal([1.0, 4.0], flat.Xs);
        Assert.Equal([0.25, 0.25], flat.Ys);
        Assert.Equal([1.0, 4.0], series[1].Xs);
        Assert.False(series[1].Dashed);

        var md = File.ReadAllText(Path.Combine(outDir, SweepReport.ReportFile));
        Assert.Contains("| model | recurrence | exact_match,strict-match | exact_match,flexible-extract | n | seconds | tokens |", md);
        Assert.Contains("| rec | 4 | 0.5000 ± 0.2887 | 0.7500 ± 0.2500 | 4 |", md);
        Assert.Contains("| base | 1 | 0.2500 ± 0.2500 | 0.2500 ± 0.2500 | 4 |", md);
        var text = SweepReport.TextTable(loaded, "gsm8k-cot").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, text.Length);
        Assert.StartsWith("model  recurrence", text[0]);
        Assert.Matches(@"^base +1 +0\.2500 ± 0\.2500 +0\.2500 ± 0\.2500 +4 ", text[3]);
        Assert.Single(text.Select(l => l.Length).Distinct());   // aligned columns

        // samples.jsonl: 4 documents × (2 + 1) passes, with the model and the flat fields.
        var lines = File.ReadAllLines(Path.Combine(outDir, SweepReport.SamplesFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(12, lines.Count);
        Assert.Equal(["rec", "rec", "base"], lines.Chunk(4).Select(c => c.Select(l => l["model"]!.GetValue<string>()).Distinct().Single()));
        var egg = lines[^3];
        Assert.Equal(1, egg["recurrence"]!.GetValue<int>());
        Assert.Equal(" The answer is 12.", egg["completion"]!.GetValue<string>());
        Assert.Equal("12", egg["strict"]!.GetValue<string>());
        Assert.Equal("12.", egg["flexible"]!.GetValue<string>());
        Assert.Equal("12", egg["gold"]!.GetValue<string>());
        Assert.True(egg["correct_strict"]!.GetValue<bool>());
        Assert.True(egg["correct_flexible"]!.GetValue<bool>());
    }

    [Fact]
    public void ModelsOfAMultiModelSweepNeedDistinctLabels()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path) });
        var m = new ScriptedModel(_ => "");
        Assert.Throws<ArgumentException>(() => EvalRunner.Run([task], [new EvalModel("a", [1], _ => m), new EvalModel(null, [1], _ => m)]));
        Assert.Contains("'a' is used twice", Assert.Throws<DeepenException>(() =>
            EvalRunner.Run([task], [new EvalModel("a", [1], _ => m), new EvalModel("a", [2], _ => m)])).Message);
    }

    [Theory]
    [InlineData("1,2,4,8", new[] { 1, 2, 4, 8 })]
    [InlineData(" 32, 1 ,4", new[] { 32, 1, 4 })]
    [InlineData("2 16", new[] { 2, 16 })]
    public void RecurrenceListsParse(string text, int[] expected) => Assert.Equal(expected, ModelSweep.ParseRecurrences([text]));

    [Theory]
    [InlineData("0,2", "0 is not a valid recurrence")]
    [InlineData("1,-2", "-2 is not a valid recurrence")]
    [InlineData("1,2,1", "1 is listed twice")]
    [InlineData("1,two", "'two': not an integer")]
    public void BadRecurrenceListsAreClearErrors(string text, string message) =>
        Assert.Contains(message, Assert.Throws<DeepenException>(() => ModelSweep.ParseRecurrences([text])).Message);

    [Fact]
    public void NoRecurrencesMeansTheTaskDefault()
    {
        Assert.Null(ModelSweep.ParseRecurrences([]));
        Assert.Equal([1, 2, 4, 8, 16, 32], ModelSweep.DefaultRecurrencesFor("gsm8k-cot"));
        Assert.Equal([1, 2, 4, 8, 16, 32, 64], ModelSweep.DefaultRecurrencesFor("loss"));
    }

    [Fact]
    public void LabelsDefaultToDirectoryNamesAndMustBeUnique()
    {
        Assert.Equal(["tl-484", "base"], ModelSweep.Label(["runs/tl-484/", "models/base"]).Select(m => m.Label));
        Assert.Equal(["rec", "plain"], ModelSweep.Label(["a/final", "b/final"], ["rec", "plain"]).Select(m => m.Label));
        Assert.Contains("give each a `label`", Assert.Throws<DeepenException>(() => ModelSweep.Label(["a/final", "b/final"])).Message);
        Assert.Contains("one label per model", Assert.Throws<DeepenException>(() => ModelSweep.Label(["a", "b"], ["x"])).Message);
    }

    [Fact]
    public void ProgressWeighsPassesByCost()
    {
        var p = new SweepProgress([1, 3]);
        Assert.Equal(0.0, p.Fraction(0, 4));
        Assert.Equal(0.125, p.Fraction(2, 4));
        p.Begin(1);
        Assert.Equal(0.625, p.Fraction(1, 2));
        Assert.Equal(1.0, p.Fraction(2, 2));
        Assert.Null(new SweepProgress([2]).EtaSeconds(0, 5));
        Assert.Equal(["42s", "3m05s", "2h07m"], new[] { 42.0, 185, 7620 }.Select(SweepProgress.Duration));
    }

    [Theory]
    [InlineData("exact_match,strict-match", "strict")]
    [InlineData("exact_match,flexible-extract", "flexible")]
    [InlineData("strict-match", "strict")]
    [InlineData("acc_norm", "acc_norm")]
    public void SampleFieldsHaveShortNames(string name, string expected) => Assert.Equal(expected, SampleLog.ShortName(name));
}
