using Deepen.Modeling;
using Deepen.Recipes;
using Deepen.Training;

namespace Deepen.Tests.Recipes;

public class PretrainConfigTests
{
    private static readonly Dictionary<string, string> None = [];

    [Fact]
    public void UnknownPretrainKeyNamesTheNearestOne()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["p.yaml"], "pretrain:\n  hiden_size: 64\nout: runs/x\n");
        var e = Assert.Throws<DeepenException>(() => PretrainConfigFile.Load(tmp["p.yaml"], None));
        Assert.Contains("pretrain.hiden_size", e.Message);
        Assert.Contains("hidden_size", e.Message);
    }

    [Fact]
    public void TrainingKeysAreCheckedByTheTrainConfigLoader()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["p.yaml"], "pretrain:\n  layers: 2\nmicro_batch: 4\n");
        var e = Assert.Throws<DeepenException>(() => PretrainConfigFile.Load(tmp["p.yaml"], None));
        Assert.Contains("micro_batch_size", e.Message);
    }
}

public class PretrainRecipeTests
{
    /// <summary>The 2-layer, d 32 Llama every recipe test trains (its vocabulary comes from the tokenizer).</summary>
    private static readonly Deepen.Modeling.ModelConfig TinyShape = new()
    {
        ModelType = "llama", VocabSize = 1, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = 2,
        HeadDim = 8, RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = 128,
    };

    [Fact]
    public void TinyPretrainingShipsABf16ModelWithACard()
    {
        using var tmp = new TestPaths.TempDir();
        Directory.CreateDirectory(tmp["corpus"]);
        var text = string.Join("\n\n", Enumerable.Range(0, 300).Select(i => $"Paragraph {i}: the quick brown fox jumps over the lazy dog, and the dog sleeps."));
        File.WriteAllText(Path.Combine(tmp["corpus"], "a.txt"), text);
        var options = new PretrainOptions
        {
            Corpus = [tmp["corpus"]],
            VocabSize = 300,
            MathCount = 200,
            MathOps = [1, 2],
            Shape = TinyShape,
            ShipTo = tmp["ship"],
            Train = new TrainConfig { Out = tmp["run"], SeqLen = 32, MicroBatchSize = 4, MaxSteps = 3, EvalEvery = 0, SaveEvery = 0, ValBatches = 2, Threads = 1 },
            Log = _ => { },
        };
        var result = PretrainRecipe.Run(options);
        Assert.False(result.Stopped, result.Reason);
        using (var store = Deepen.Checkpoints.TensorStore.Open(tmp["ship"])) Assert.Equal("BF16", store.StoredDType());
        Assert.True(File.Exists(Path.Combine(tmp["ship"], "tokenizer.json")));
        var card = File.ReadAllText(Path.Combine(tmp["ship"], "README.md"));
        Assert.Contains("| prose |", card);
        Assert.Contains("| synthetic math |", card);
        Assert.Contains("Sample generations", card);
        using var model = Deepen.Checkpoints.HfModel.Load(tmp["ship"]);   // loads as a plain HF model
        Assert.Equal(300, model.Config.VocabSize);
    }

    [Fact]
    public void ContinuingAModelOnChainsKeepsItsTokenizerAndReportsChainAccuracy()
    {
        using var tmp = new TestPaths.TempDir();
        Deepen.Checkpoints.ModelFactory.CreatePlain(TinyShape, TestPaths.FixtureModel("ci-tiny"), tmp["start"], seed: 3);
        var options = new PretrainOptions
        {
            Corpus = [],
            MathCount = 0,
            ChainCount = 400,
            ChainOps = [1, 2, 3],
            ChainWorkedFraction = 0.3,
            InitFrom = tmp["start"],
            HoldoutFraction = 0.05,
            Shape = TinyShape,
            ShipTo = tmp["ship"],
            Train = new TrainConfig { Out = tmp["run"], SeqLen = 64, MicroBatchSize = 4, MaxSteps = 2, EvalEvery = 0, SaveEvery = 0, ValBatches = 2, Threads = 1 },
            Log = _ => { },
        };
        var result = PretrainRecipe.Run(options);
        Assert.False(result.Stopped, result.Reason);
        Assert.False(Directory.Exists(Path.Combine(tmp["run"], "tokenizer")));   // no tokenizer trained: the start model's is kept
        Assert.Equal(File.ReadAllText(Path.Combine(tmp["start"], "tokenizer.json")), File.ReadAllText(Path.Combine(tmp["ship"], "tokenizer.json")));
        var card = File.ReadAllText(Path.Combine(tmp["ship"], "README.md"));
        Assert.Contains("Continued from", card);
        Assert.Contains("| chains mod 10 |", card);
        Assert.Contains("## Chains answered directly", card);
        Assert.DoesNotContain("| prose |", card);
        Assert.Contains("worked steps", File.ReadAllText(Path.Combine(tmp["ship"], "README.md")));
    }

    [Fact]
    public void ContinuingAModelOnHopsReportsHopAccuracyByHops()
    {
        using var tmp = new TestPaths.TempDir();
        Deepen.Checkpoints.ModelFactory.CreatePlain(TinyShape, TestPaths.FixtureModel("ci-tiny"), tmp["start"], seed: 3);
        var options = new PretrainOptions
        {
            Corpus = [], MathCount = 0, HopCount = 300, HopHops = [1, 2], HopChains = 2, InitFrom = tmp["start"], HoldoutFraction = 0.05,
            Shape = TinyShape, ShipTo = tmp["ship"],
            Train = new TrainConfig { Out = tmp["run"], SeqLen = 64, MicroBatchSize = 4, MaxSteps = 2, EvalEvery = 0, SaveEvery = 0, ValBatches = 2, Threads = 1, LossOn = LossTokens.Answer, AnswerMarker = "?" },
            Log = _ => { },
        };
        var result = PretrainRecipe.Run(options);
        Assert.False(result.Stopped, result.Reason);
        var card = File.ReadAllText(Path.Combine(tmp["ship"], "README.md"));
        Assert.Contains("| variable hops |", card);
        Assert.Contains("## Variable hops answered directly", card);
        Assert.Contains("| hops | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 |", card);   // validation lengths beyond the trained 1-2
        Assert.Contains("find k:t=3", card);
        Assert.DoesNotContain("Chains answered directly", card);
    }

    [Fact]
    public void AFreshModelCanUseAGivenTokenizerInsteadOfTrainingOne()
    {
        using var tmp = new TestPaths.TempDir();
        var options = new PretrainOptions
        {
            Corpus = [], MathCount = 0, HopCount = 300, HopHops = [1], HopChains = 4, HopAskAllFraction = 0.5, Tokenizer = TestPaths.FixtureModel("ci-tiny"),
            HoldoutFraction = 0.05, Shape = TinyShape, ShipTo = tmp["ship"], InitSeed = 4,
            Train = new TrainConfig { Out = tmp["run"], SeqLen = 64, MicroBatchSize = 4, MaxSteps = 2, EvalEvery = 0, SaveEvery = 0, ValBatches = 2, Threads = 1, LossOn = LossTokens.Answer, AnswerMarker = "?" },
            Log = _ => { },
        };
        var result = PretrainRecipe.Run(options);
        Assert.False(result.Stopped, result.Reason);
        Assert.False(Directory.Exists(Path.Combine(tmp["run"], "tokenizer")));
        Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.FixtureModel("ci-tiny"), "tokenizer.json")), File.ReadAllText(Path.Combine(tmp["ship"], "tokenizer.json")));
        Assert.Equal(TinyShape.NumLayers, Deepen.Modeling.HfConfig.Load(tmp["ship"]).NumLayers);   // the recipe's shape, not the tokenizer's model
        var card = File.ReadAllText(Path.Combine(tmp["ship"], "README.md"));
        Assert.Contains("Tokenizer: the one of `ci-tiny`", card);
        Assert.Contains("fresh random init (seed 4)", card);
        Assert.Contains("50 % of the rest asking every chain's head", card);
        var texts = File.ReadLines(Path.Combine(tmp["run"], "hop-train.jsonl")).ToList();
        Assert.Contains(texts, t => t.Contains(".", StringComparison.Ordinal) && System.Text.RegularExpressions.Regex.IsMatch(t, @"\?\d\.[a-z]\?\d"));
    }

    [Theory]
    [InlineData(true, "keeps its own tokenizer")]
    [InlineData(false, "has no tokenizer.json")]
    public void AGivenTokenizerIsChecked(bool alsoInitFrom, string message)
    {
        using var tmp = new TestPaths.TempDir();
        Directory.CreateDirectory(tmp["empty"]);
        var e = Assert.Throws<DeepenException>(() => PretrainRecipe.Run(new PretrainOptions
        {
            Corpus = [], MathCount = 0, HopCount = 10, ShipTo = tmp["ship"], Shape = TinyShape,
            Tokenizer = alsoInitFrom ? TestPaths.FixtureModel("ci-tiny") : tmp["empty"],
            InitFrom = alsoInitFrom ? TestPaths.FixtureModel("llama-tiny") : null,
            Train = new TrainConfig { Out = tmp["run"] }, Log = _ => { },
        }));
        Assert.Contains("pretrain.tokenizer", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void NoDataIsRefused()
    {
        using var tmp = new TestPaths.TempDir();
        var e = Assert.Throws<DeepenException>(() => PretrainRecipe.Run(new PretrainOptions
        {
            Corpus = [], MathCount = 0, ChainCount = 0, ShipTo = tmp["ship"],
            Shape = TinyShape,
            Train = new TrainConfig { Out = tmp["run"] }, Log = _ => { },
        }));
        Assert.Contains("no data", e.Message);
    }
}
