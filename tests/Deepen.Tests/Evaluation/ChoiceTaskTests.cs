using System.Text.Json.Nodes;
using Deepen.Evaluation;
using Deepen.Evaluation.Tasks;

namespace Deepen.Tests.Evaluation;

/// <summary>Multiple choice: acc is the argmax log-likelihood, acc_norm the argmax per unit of the choice's length, as lm-eval computes them.</summary>
public class ChoiceTaskTests
{
    // Per continuation (with lm-eval's leading space): summed log-likelihoods.
    private static readonly Dictionary<string, double> Ll = new()
    {
        [" no"] = -3.0,              // 2 chars: -1.5 per char → acc picks it
        [" absolutely yes"] = -7.0,  // 14 chars: -0.5 per char → acc_norm picks it (the label)
        [" four"] = -1.0, [" five"] = -2.0,       // both metrics pick "four" (the label)
        [" ééé"] = -3.3,             // 3 chars (6 bytes): -1.1 per char, -0.55 per byte
        [" abcd"] = -4.0,            // 4 chars = 4 bytes: -1.0
    };

    private static string Data(TestPaths.TempDir tmp) => EvalData.Jsonl(tmp["mc.jsonl"],
        new JsonObject { ["context"] = "Is the sky green? Answer:", ["choices"] = new JsonArray("no", "absolutely yes"), ["label"] = 1 },
        new JsonObject { ["context"] = "2 + 2 =", ["choices"] = new JsonArray("four", "five"), ["label"] = "four" },
        new JsonObject { ["context"] = "Pick:", ["choices"] = new JsonArray("ééé", "abcd"), ["label"] = "1" });

    [Fact]
    public void AccAndAccNormDifferOnACraftedExample()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Choice(new EvalTaskOptions { Data = Data(tmp) });
        var model = new TableModel((ctx, cont) => Ll[cont]);
        var run = EvalRunner.RunTask(task, model, recurrence: 2, batchSize: 4);

        Assert.Equal([0.0, 1, 0], run.Samples.Select(s => s.Scores["acc"]));
        Assert.Equal([1.0, 1, 1], run.Samples.Select(s => s.Scores["acc_norm"]));
        Assert.Equal(1.0 / 3, run.Points.Single(p => p.Metric == "acc").Value, 12);
        Assert.Equal(1.0, run.Points.Single(p => p.Metric == "acc_norm").Value);
        Assert.Equal(0L, run.TokensGenerated);
        Assert.Equal(2, model.Calls); // 6 requests in batches of 4
        Assert.Equal("no", run.Samples[0].Response);
        Assert.Equal("absolutely yes", run.Samples[0].Gold);
    }

    [Fact]
    public void ByteNormalisationDiffersFromLmEvalsCharacterCountOnNonAscii()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Choice(new EvalTaskOptions { Data = Data(tmp), ChoiceLength = ChoiceLength.Bytes });
        var run = EvalRunner.RunTask(task, new TableModel((_, cont) => Ll[cont]), 1);
        Assert.Equal([1.0, 1, 0], run.Samples.Select(s => s.Scores["acc_norm"]));
    }

    [Fact]
    public void RequestsAreContextAndSpaceDelimitedChoices()
    {
        using var tmp = new TestPaths.TempDir();
        var requests = EvalTasks.Choice(new EvalTaskOptions { Data = Data(tmp), Limit = 1 }).BuildRequests();
        Assert.Equal([new LogLikelihoodRequest(0, "Is the sky green? Answer:", " no"), new LogLikelihoodRequest(0, "Is the sky green? Answer:", " absolutely yes")], requests);
    }

    [Fact]
    public void BadLabelsAndChoicesAreReported()
    {
        using var tmp = new TestPaths.TempDir();
        var bad = EvalData.Jsonl(tmp["bad.jsonl"], new JsonObject { ["context"] = "c", ["choices"] = new JsonArray("a", "b"), ["label"] = 2 });
        Assert.Contains("bad.jsonl:1: label 2", Assert.Throws<DeepenException>(() => ChoiceTask.Load(bad)).Message);
        var empty = EvalData.Jsonl(tmp["empty.jsonl"], new JsonObject { ["context"] = "c", ["choices"] = new JsonArray("a", ""), ["label"] = 0 });
        Assert.Contains("non-empty strings", Assert.Throws<DeepenException>(() => ChoiceTask.Load(empty)).Message);
    }

    [Fact]
    public void LogLikelihoodResultCountsBytesAndCodePoints()
    {
        var r = LogLikelihoodResult.For(" ééé😀", -1, 3);
        Assert.Equal((11, 5), (r.ByteLength, r.CharLength));
    }
}
