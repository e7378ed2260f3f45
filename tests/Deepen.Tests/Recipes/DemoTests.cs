using Deepen.Checkpoints;
using Deepen.Recipes;
using Deepen.Modeling;

namespace Deepen.Tests.Recipes;

/// <summary>A shrunken demo on a tiny random base model writes every artefact of the real one.</summary>
public class DemoTests
{
    /// <summary>A 4-layer d 32 random base with the ci-tiny tokenizer.</summary>
    private static void TinyBase(string dir)
    {
        var shape = new ModelConfig
        {
            ModelType = "llama", VocabSize = 1, HiddenSize = 32, IntermediateSize = 64, NumLayers = 4, NumHeads = 4, NumKvHeads = 2,
            HeadDim = 8, RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = 128,
        };
        ModelFactory.CreatePlain(shape, TestPaths.FixtureModel("ci-tiny"), dir, seed: 1);
    }

    [Theory]
    [InlineData("chains")]
    [InlineData("hops")]
    [InlineData("hops", true)]
    public void TinyDemoWritesTheReportPlotsRunsAndSamples(string task, bool onValidation = false)
    {
        using var tmp = new TestPaths.TempDir();
        TinyBase(tmp["base"]);
        var options = DemoOptions.QuickRun(tmp["base"], tmp["demo"], DemoTask.Parse(task)) with
        {
            Steps = 4, TrainProblems = 300, TestProblems = 12, TestRecurrences = [1, 2], SeqLen = 64, MicroBatch = 4,
            TrainOps = [1, 2], TestOps = [1, 2, 3], RunNoCurriculum = true, Threads = 1, Log = _ => { },
            EvalSplit = onValidation ? Deepen.Data.ChainSplit.Validation : Deepen.Data.ChainSplit.Test,
        };
        var report = DemoRecipe.Run(options);
        Assert.Equal(Path.Combine(tmp["demo"], "report.md"), report);
        var text = File.ReadAllText(report);
        foreach (var must in new[] { "## Training", "## Accuracy", "### By chain length", "| 3 (longer) |", "accuracy-heatmap.png", "The paper's claims",
                     "1. **Accuracy grows", "2. **At equal training FLOPs", "3. **The recurrence curriculum", "McNemar", "(seed 0)", $"--task {task}", $"| {DemoTask.Parse(task).Unit} | problems |" })
            Assert.Contains(must, text);
        foreach (var png in new[] { "accuracy-vs-recurrence.png", "loss-vs-flops.png", "val-loss-vs-flops.png", "accuracy-heatmap.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(tmp["demo"], png));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        foreach (var run in new[] { "recurrent", "recurrent-no-curriculum", "static" })
            Assert.True(File.Exists(Path.Combine(tmp["demo"], "runs", run, "metrics.jsonl")), run);
        Assert.Equal(12 * 2, File.ReadAllLines(Path.Combine(tmp["demo"], "samples-recurrent.jsonl")).Count(l => l.Length > 0));
        Assert.Equal(12, File.ReadAllLines(Path.Combine(tmp["demo"], "samples-static.jsonl")).Count(l => l.Length > 0));
        Assert.True(RecurrentCheckpoint.IsRecurrent(Path.Combine(tmp["demo"], "runs", "recurrent", "final")));
        var config = File.ReadAllText(Path.Combine(tmp["demo"], "runs", "recurrent", "config.yaml"));
        Assert.Contains("loss_on: answer", config);
        Assert.Contains(DemoTask.Parse(task).AnswerMarker.Trim(), config.Split('\n').Single(l => l.StartsWith("answer_marker:", StringComparison.Ordinal)));
        var split = onValidation ? Deepen.Data.ChainSplit.Validation : Deepen.Data.ChainSplit.Test;
        var asked = Deepen.Evaluation.Tasks.ChainTask.Load(Path.Combine(tmp["demo"], "data", "test.jsonl"));
        if (task == "hops") Assert.All(asked, d => Assert.Equal(split, Deepen.Data.VariableHops.SplitOf(d.Prompt)));   // a direct hop's text is its canonical form
        Assert.Equal(onValidation, text.Contains("are the validation split", StringComparison.Ordinal));
    }

    [Fact]
    public void AShapeThatDropsLayersIsConvertedByThePapersRuleAndReported()
    {
        using var tmp = new TestPaths.TempDir();
        TinyBase(tmp["base"]);
        var options = DemoOptions.QuickRun(tmp["base"], tmp["demo"]) with
        {
            Shape = (1, 1, 1), Steps = 2, TrainProblems = 200, TestProblems = 6, TestRecurrences = [1, 2], SeqLen = 64, MicroBatch = 4,
            TrainOps = [1, 2], TestOps = [1, 2], RunNoCurriculum = false, Threads = 1, Log = _ => { },
        };
        var text = File.ReadAllText(DemoRecipe.Run(options));
        Assert.Contains("converted to a (1,1,1) recurrent model", text);
        Assert.Contains("layer 1 of the base's 4 dropped by the paper's rule", text);
        Assert.Contains("--shape 1,1,1", text);
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(tmp["demo"], "recurrent-init", "config.json")))!;
        Assert.Equal((1, 1, 1), ((int)cfg["n_layers_in_prelude"]!, (int)cfg["n_layers_in_recurrent_block"]!, (int)cfg["n_layers_in_coda"]!));
        Assert.Equal("[2]", cfg["deepen"]!["layer_plan"]!["core_block"]!.ToJsonString());   // the R layers before the last C
    }

    [Theory]
    [InlineData(new[] { 0, 1, 2, 3 }, 4, "")]
    [InlineData(new[] { 0, 1, 4, 5 }, 6, "; layers 2–3 of the base's 6 dropped by the paper's rule")]
    [InlineData(new[] { 0, 2, 3 }, 4, "; layer 1 of the base's 4 dropped by the paper's rule")]
    public void TheReportNamesTheDroppedLayers(int[] kept, int baseLayers, string expected)
    {
        var plan = new Deepen.Conversion.LayerPlan(kept[..1], kept[1..^1], kept[^1..]);
        Assert.Equal(expected, DemoReport.Dropped(plan, baseLayers));
    }

    [Fact]
    public void NoStepsIsRefused()
    {
        using var tmp = new TestPaths.TempDir();
        var e = Assert.Throws<DeepenException>(() => DemoRecipe.Run(DemoOptions.QuickRun(tmp["base"], tmp["demo"]) with { Steps = 0, Log = _ => { } }));
        Assert.Contains("steps 0", e.Message);
    }

    [Theory]
    [InlineData("chains")]
    [InlineData("hops")]
    public void EachTaskNamesTheRecipeThatShipsItsBase(string name)
    {
        var task = DemoTask.Parse(name);
        var recipe = PretrainConfigFile.Load(Path.Combine(TestPaths.RepoRoot, task.BaseRecipe), new Dictionary<string, string>());
        Assert.Equal(task.DefaultBase, Path.GetRelativePath(Environment.CurrentDirectory, recipe.ShipTo));   // recipe paths are relative to the directory it runs in
        Assert.Equal(task.AnswerMarker, recipe.HopCount > 0 ? Deepen.Data.VariableHops.AnswerMarker : Deepen.Data.ModChain.AnswerMarker);
        Assert.Throws<DeepenException>(() => DemoTask.Parse("sums"));
    }

    [Fact]
    public void TheSeedChangesEveryRandomChoice()
    {
        var a = new DemoSeeds(0);
        var b = new DemoSeeds(1);
        Assert.NotEqual(a.Adapter, b.Adapter);
        Assert.NotEqual(a.TrainData, b.TrainData);
        Assert.NotEqual(a.TestData, b.TestData);
        Assert.NotEqual(a.Holdout, b.Holdout);
        Assert.NotEqual(a.Training, b.Training);
        Assert.NotEqual(a.Eval, b.Eval);
        // and the problems themselves differ
        var p0 = Deepen.Data.ModChain.Generate(new Deepen.Data.ModChainOptions { Count = 50, Ops = [4], Seed = a.TestData, Split = Deepen.Data.ChainSplit.Test }).Select(p => p.Canonical);
        var p1 = Deepen.Data.ModChain.Generate(new Deepen.Data.ModChainOptions { Count = 50, Ops = [4], Seed = b.TestData, Split = Deepen.Data.ChainSplit.Test }).Select(p => p.Canonical);
        Assert.Empty(p0.Intersect(p1));
    }

    [Theory]
    [InlineData(0.30, 0.35, "Held")]
    [InlineData(0.30, 0.301, "Inconclusive")]
    [InlineData(0.35, 0.30, "Refuted")]
    public void CurriculumVerdictFollowsTheLossesAtEqualFlops(double withCurriculum, double without, string verdict) =>
        Assert.Equal(verdict, DemoReport.CurriculumVerdict(withCurriculum, without).ToString());
}
