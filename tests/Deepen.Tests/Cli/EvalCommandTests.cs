using System.Text.Json.Nodes;
using Deepen.Evaluation;
using Deepen.Evaluation.Reports;
using Deepen.Tests.Evaluation;
using Deepen.Tokenization;
using Deepen.Training;
using Deepen.Models;

namespace Deepen.Tests.Cli;

/// <summary>
/// <c>deepen eval</c> as a user runs it: end to end on GSM8K-format data with a recurrent model and its plain baseline
/// (table, results.json, samples.jsonl, one PNG), on the real GSM8K test split when shared data is present, the loss
/// task on a token shard, and bad input as one clear error with exit code 1.
/// </summary>
public sealed class EvalCommandTests : IClassFixture<EvalModels>
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly string[] SampleFields = ["recurrence", "prompt", "completion", "strict", "flexible", "gold", "correct_strict", "correct_flexible"];
    private readonly EvalModels m;
    public EvalCommandTests(EvalModels m) => this.m = m;

    private static void AssertPng(string path)
    {
        var png = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        Assert.True(png.Length > 5000, $"{path}: {png.Length} bytes");
    }

    private static List<JsonObject> Samples(string outDir) =>
        File.ReadAllLines(Path.Combine(outDir, SweepReport.SamplesFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    private static void AssertSampleFields(JsonObject s)
    {
        foreach (var f in SampleFields) Assert.True(s.ContainsKey(f), $"samples.jsonl line lacks '{f}': {s.ToJsonString()}");
        Assert.IsType<bool>(s["correct_strict"]!.GetValue<bool>());
        Assert.Equal(s["strict"]!.GetValue<string>(), s["extracted"]!["strict-match"]!.GetValue<string>());
    }

    [Fact]
    public void RecurrentModelAndPlainBaselineInOneTablePlotAndSamplesFile()
    {
        using var tmp = new TestPaths.TempDir();
        var data = EvalModels.Gsm8k(tmp["gsm8k.jsonl"], count: 5);
        var r = CliProcess.Run("eval", "--model", m.Recurrent, "--model", m.Plain, "--task", "gsm8k-cot", "--data", data,
            "--recurrence", "1,2,4", "--max-new-tokens", "16", "--batch-size", "4", "--out", tmp["out"]);
        Assert.True(r.ExitCode == 0, r.Stderr);

        // The table: a row per (model, recurrence); the plain model once.
        var rows = r.Stdout.Split('\n').Where(l => l.StartsWith("ci-tiny ") || l.StartsWith("plain ")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..2]).ToList();
        Assert.Equal([["ci-tiny", "1"], ["ci-tiny", "2"], ["ci-tiny", "4"], ["plain", "1"]], rows);
        Assert.Contains("exact_match,flexible-extract", r.Stdout);
        Assert.Contains("ETA", r.Stderr);

        var sweep = SweepResult.Load(Path.Combine(tmp["out"], SweepReport.ResultsFile));
        Assert.Equal(["ci-tiny", "plain"], sweep.Models);
        Assert.Equal([1, 2, 4], sweep.RecurrencesOf("gsm8k-cot", "ci-tiny"));
        Assert.Equal([1], sweep.RecurrencesOf("gsm8k-cot", "plain"));
        Assert.All(sweep.Points, p => Assert.Equal(5, p.N));

        var samples = Samples(tmp["out"]);
        Assert.Equal(5 * 4, samples.Count);
        Assert.All(samples, AssertSampleFields);
        Assert.Equal(15, samples.Count(s => s["model"]!.GetValue<string>() == "ci-tiny"));

        // One picture: lines for both models, the plain one across the recurrence axis.
        AssertPng(Path.Combine(tmp["out"], "gsm8k-cot.png"));
        var series = SweepReport.Series(sweep, "gsm8k-cot");
        Assert.Equal(4, series.Count);
        Assert.All(series.Where(s => s.Label.StartsWith("plain")), s => Assert.Equal([1.0, 4.0], s.Xs));
        Assert.Contains("| plain | 1 |", File.ReadAllText(Path.Combine(tmp["out"], SweepReport.ReportFile)));
    }

    [SharedDataFact("gsm8k/test.jsonl")]
    public void EndToEndOnTheGsm8kTestSplit()
    {
        using var tmp = new TestPaths.TempDir();
        var r = CliProcess.Run("eval", "--model", m.Recurrent, "--task", "gsm8k-cot", "--data", SharedData.PathOf("gsm8k/test.jsonl"),
            "--limit", "20", "--recurrence", "1,2", "--max-new-tokens", "16", "--batch-size", "8", "--out", tmp["out"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Matches(@"(?m)^ci-tiny +2 +\d\.\d{4} ± \d\.\d{4} +\d\.\d{4} ± \d\.\d{4} +20 ", r.Stdout);
        var sweep = SweepResult.Load(Path.Combine(tmp["out"], SweepReport.ResultsFile));
        Assert.Equal(4, sweep.Points.Count);   // 2 metrics × 2 recurrences
        var samples = Samples(tmp["out"]);
        Assert.Equal(20 * 2, samples.Count);
        Assert.All(samples, AssertSampleFields);
        Assert.Equal("18", samples[0]["gold"]!.GetValue<string>());   // Janet's ducks
        AssertPng(Path.Combine(tmp["out"], "gsm8k-cot.png"));
    }

    [Fact]
    public void LossTaskOnATokenShardEqualsTheLibrarysLoss()
    {
        using var tmp = new TestPaths.TempDir();
        var val = m.ValShard(tmp["data"], rows: 10, rowLength: 17);
        var r = CliProcess.Run("eval", "--model", m.Recurrent, "--model", m.Plain, "--task", "loss", "--data", tmp["data"],
            "--recurrence", "1,2,8", "--batch-size", "4", "--limit", "6", "--seed", "3", "--out", tmp["out"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Matches(@"(?m)^model +recurrence +loss +n ", r.Stdout);

        var sweep = SweepResult.Load(Path.Combine(tmp["out"], SweepReport.ResultsFile));
        Assert.Equal([("ci-tiny", 1), ("ci-tiny", 2), ("ci-tiny", 8), ("plain", 1)], sweep.Points.Select(p => (p.Model!, p.Recurrence)));
        Assert.All(sweep.Points, p => Assert.Equal(8 * 16, p.N));   // --limit 6 at batch 4: two batches of 4 rows, 16 predictions each
        using var tok = TextTokenizer.FromDirectory(m.Recurrent);
        foreach (var (label, dir) in new[] { ("ci-tiny", m.Recurrent), ("plain", m.Plain) })
        {
            using var model = DeepenModel.Load(dir);
            foreach (var expected in LossEvaluation.Run(model, [val], [1, 2, 8], batchSize: 4, batches: 2, seed: 3, fingerprint: tok.Fingerprint))
                Assert.Equal(expected.Value, sweep.Find("loss", "loss", expected.Recurrence, label)!.Value, 5);
        }
        AssertPng(Path.Combine(tmp["out"], "loss.png"));
        Assert.False(File.Exists(Path.Combine(tmp["out"], SweepReport.SamplesFile)));
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { "missing-field", ":3: field 'answer' is missing" },
        { "empty", "no rows" },
        { "recurrence-zero", "--recurrence 0,2: 0 is not a valid recurrence" },
        { "recurrence-negative", "--recurrence 1,-2: -2 is not a valid recurrence" },
        { "missing-model", "directory not found" },
        { "loss-on-jsonl", "the loss task reads a token shard" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputIsOneClearErrorAndExitCode1(string kind, string message)
    {
        using var tmp = new TestPaths.TempDir();
        var good = EvalModels.Gsm8k(tmp["good.jsonl"], count: 2);
        File.WriteAllLines(tmp["missing.jsonl"], [File.ReadAllLines(good)[0], "", "{\"question\": \"What is 2 + 2?\"}"]);
        File.WriteAllText(tmp["empty.jsonl"], "\n\n");
        string model = m.Recurrent, data = good, recurrence = "1,2", task = "gsm8k-cot";
        switch (kind)
        {
            case "missing-field": data = tmp["missing.jsonl"]; break;
            case "empty": data = tmp["empty.jsonl"]; break;
            case "recurrence-zero": recurrence = "0,2"; break;
            case "recurrence-negative": recurrence = "1,-2"; break;
            case "missing-model": model = tmp["no-such-model"]; break;
            case "loss-on-jsonl": task = "loss"; break;
        }
        var r = CliProcess.Run("eval", "--model", model, "--task", task, "--data", data, "--recurrence", recurrence, "--max-new-tokens", "4", "--out", tmp["out"]);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: ", r.Stderr);
        Assert.Contains(message, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.False(Directory.Exists(tmp["out"]) && Directory.EnumerateFileSystemEntries(tmp["out"]).Any(), "nothing is written on bad input");
    }
}
