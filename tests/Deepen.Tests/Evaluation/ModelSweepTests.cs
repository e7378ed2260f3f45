using System.Text.Json.Nodes;
using Deepen.Evaluation;
using Deepen.Evaluation.Reports;
using Deepen.Evaluation.Tasks;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tokenization;

namespace Deepen.Tests.Evaluation;

/// <summary>
/// <see cref="ModelSweep"/> on real tiny models (recurrent ci-tiny and a plain Llama with the same tokenizer), through
/// <see cref="EvalRunner"/> and <see cref="ModelLanguageModel"/>: batching does not change greedy completions, and runs are deterministic.
/// </summary>
public class ModelSweepTests : IClassFixture<EvalModels>
{
    private readonly EvalModels m;
    public ModelSweepTests(EvalModels m) => this.m = m;

    private List<JsonObject> Samples(string data, string outDir, int batch, StateInit state, IReadOnlyList<int> recurrences, long seed = 0)
    {
        ModelSweep.Run([new SweepModel("rec", m.Recurrent), new SweepModel("plain", m.Plain)], "gsm8k-cot",
            new EvalTaskOptions { Data = data, NumFewshot = 0, MaxNewTokens = 16 },
            new ModelSweepOptions { Recurrences = recurrences, BatchSize = batch, InitialState = state, Seed = seed, OutputDir = outDir, Plots = false });
        return File.ReadAllLines(Path.Combine(outDir, SweepReport.SamplesFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
    }

    private static List<string> Completions(List<JsonObject> samples) =>
        samples.Select(s => $"{s["model"]} r={s["recurrence"]} doc={s["doc"]}: {s["completion"]!.GetValue<string>()}").ToList();

    [Fact]
    public void BatchedGreedyCompletionsEqualUnbatchedOnes()
    {
        using var tmp = new TestPaths.TempDir();
        var data = EvalModels.Gsm8k(tmp["gsm8k.jsonl"]);
        var one = Samples(data, tmp["b1"], batch: 1, StateInit.Zeros, [1, 3]);
        var eight = Samples(data, tmp["b8"], batch: 8, StateInit.Zeros, [1, 3]);

        Assert.Equal(8 * 3, one.Count);
        Assert.Equal(Completions(one), Completions(eight));
        // The comparison means something: the prompts need different padding and the model does write text.
        using var tok = TextTokenizer.FromDirectory(m.Recurrent);
        Assert.True(one.Select(s => tok.Encode(s["prompt"]!.GetValue<string>()).Length).Distinct().Count() >= 6);
        Assert.True(one.Count(s => s["completion"]!.GetValue<string>().Trim().Length > 0) >= 12, string.Join("\n", Completions(one)));
        Assert.NotEqual(Completions(one).Where(c => c.StartsWith("rec r=1")).Select(c => c[(c.IndexOf(':') + 1)..]),
                        Completions(one).Where(c => c.StartsWith("rec r=3")).Select(c => c[(c.IndexOf(':') + 1)..]));
    }

    [Fact]
    public void SeededRandomStatesAreDeterministic()
    {
        using var tmp = new TestPaths.TempDir();
        var data = EvalModels.Gsm8k(tmp["gsm8k.jsonl"], count: 4);
        var a = Samples(data, tmp["a"], batch: 4, StateInit.Random, [2], seed: 5);
        var b = Samples(data, tmp["b"], batch: 4, StateInit.Random, [2], seed: 5);
        Assert.Equal(Completions(a), Completions(b));
        var info = SweepResult.Load(Path.Combine(tmp["a"], SweepReport.ResultsFile)).Info;
        Assert.Equal("random, seed 5", info["initial state"]);
        Assert.Equal(m.Plain, info["model plain"]);
    }

    [Fact]
    public void ModelsAreCheckedBeforeAnyIsLoaded()
    {
        using var tmp = new TestPaths.TempDir();
        var data = EvalModels.Gsm8k(tmp["gsm8k.jsonl"], count: 2);
        var options = new EvalTaskOptions { Data = data };
        Assert.Contains("directory not found", Assert.Throws<DeepenException>(() =>
            ModelSweep.Run([new SweepModel("rec", m.Recurrent), new SweepModel("gone", tmp["gone"])], "gsm8k-cot", options)).Message);
        Assert.Contains("no tokenizer.json", Assert.Throws<DeepenException>(() =>
            ModelSweep.Run([new SweepModel("raven", TestPaths.FixtureModel("raven-llama-tiny"))], "gsm8k-cot", options)).Message);
        Assert.Contains("task 'gsm8k-5shot' is unknown", Assert.Throws<DeepenException>(() =>
            ModelSweep.Run([new SweepModel("rec", m.Recurrent)], "gsm8k-5shot", options)).Message);
        Assert.Contains("state zeros", Assert.Throws<DeepenException>(() =>
            ModelSweep.Run([new SweepModel("rec", m.Recurrent)], "loss", new EvalTaskOptions { Data = m.ValShard(tmp["data"]) },
                new ModelSweepOptions { InitialState = StateInit.Zeros })).Message);
    }
}
