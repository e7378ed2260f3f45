using Deepen.Recipes;
using Deepen.Training;

namespace Deepen.Tests.Training;

/// <summary>
/// The YAML training config: typed loading of every value kind, overrides over the file, errors that name the
/// key, the file and the nearest valid key, validation, the ToYaml round trip, and the recipes in configs/.
/// </summary>
public class TrainConfigTests
{
    private static readonly Dictionary<string, string> None = [];

    private static string Write(TestPaths.TempDir tmp, string yaml, string name = "c.yaml")
    {
        File.WriteAllText(tmp[name], yaml);
        return tmp[name];
    }

    private static DeepenException LoadFails(TestPaths.TempDir tmp, string yaml) =>
        Assert.Throws<DeepenException>(() => TrainConfigFile.Load(Write(tmp, yaml), None, tmp.Path));

    [Fact]
    public void KeysAreTheSnakeCasePropertyNamesInDeclarationOrder()
    {
        Assert.Equal("micro_batch_size", TrainConfigKeys.SnakeCase("MicroBatchSize"));
        Assert.Equal("min_lr_ratio", TrainConfigKeys.SnakeCase("MinLrRatio"));
        var names = TrainConfigKeys.All.Select(k => k.Name).ToList();
        Assert.Equal(["model", "out", "train_data", "val_data"], names.Take(4));
        Assert.Equal("save_dtype", names[^1]);
        Assert.Equal(typeof(TrainConfig).GetProperties().Length, names.Distinct().Count());
        Assert.Same(TrainConfigKeys.Find("grad_accum_steps"), TrainConfigKeys.Find("grad-accum-steps"));
    }

    [Fact]
    public void LoadsEveryValueKind()
    {
        using var tmp = new TestPaths.TempDir();
        var path = Write(tmp, """
            # a comment
            model: models/m                 # string path, relative
            out: /abs/run
            train_data:                     # block sequence of strings
              - a.tokens
              - dir with space/b.tokens
            val_data: v1.tokens,v2.tokens   # comma-separated scalar for a list
            text_field: "123"               # a string that looks like a number
            micro_batch_size: 4             # int
            max_steps: 50_000               # digit separators
            seed: 8589934592                # long beyond 32 bits
            lr: 1e-3                        # double, exponent
            muon_lr: 0.02
            grad_clip: 2                    # an integer for a double
            val_recurrences: [1, 3, 9]      # flow sequence of ints
            curriculum: linear
            """);
        var c = TrainConfigFile.Load(path, None, tmp.Path);
        Assert.Equal(Path.Combine(tmp.Path, "models/m"), c.Model);
        Assert.Equal("/abs/run", c.Out);
        Assert.Equal([tmp["a.tokens"], Path.Combine(tmp.Path, "dir with space/b.tokens")], c.TrainData);
        Assert.Equal([tmp["v1.tokens"], tmp["v2.tokens"]], c.ValData);
        Assert.Equal("123", c.TextField);
        Assert.Equal(4, c.MicroBatchSize);
        Assert.Equal(50_000, c.MaxSteps);
        Assert.Equal(8589934592L, c.Seed);
        Assert.Equal(1e-3, c.Lr);
        Assert.Equal(0.02, c.MuonLr);
        Assert.Equal(2.0, c.GradClip);
        Assert.Equal([1, 3, 9], c.ValRecurrences);
        Assert.Equal(CurriculumShape.Linear, c.Curriculum);
        Assert.Equal(new TrainConfig().Cooldown, c.Cooldown);   // keys not given keep the defaults
    }

    [Fact]
    public void EmptyValuesAreEmptyStringsAndEmptyLists()
    {
        using var tmp = new TestPaths.TempDir();
        var c = TrainConfigFile.Load(Write(tmp, "model:\nval_data:\nval_recurrences: []\n"), None, tmp.Path);
        Assert.Equal("", c.Model);
        Assert.Empty(c.ValData);
        Assert.Empty(c.ValRecurrences);
        Assert.Empty(TrainConfigFile.Differences(new TrainConfig(), TrainConfigFile.Load(Write(tmp, "# nothing\n", "empty.yaml"), None)));
    }

    [Fact]
    public void OverridesWinOverTheFile()
    {
        using var tmp = new TestPaths.TempDir();
        var path = Write(tmp, "micro_batch_size: 4\nlr: 0.5\nval_recurrences: [1, 2]\ntrain_data: [a.tokens]\noptimizer: adamw\n");
        var c = TrainConfigFile.Load(path, new Dictionary<string, string>
        {
            ["micro_batch_size"] = "16",
            ["--val-recurrences"] = "4,8,32",    // kebab-case with dashes, as a flag
            ["train_data"] = "x.tokens, y.tokens",
            ["out"] = "runs/r",
        }, tmp.Path);
        Assert.Equal(16, c.MicroBatchSize);
        Assert.Equal([4, 8, 32], c.ValRecurrences);
        Assert.Equal([tmp["x.tokens"], tmp["y.tokens"]], c.TrainData);
        Assert.Equal(Path.Combine(tmp.Path, "runs/r"), c.Out);
        Assert.Equal(0.5, c.Lr);                 // from the file
        Assert.Equal(OptimizerKind.AdamW, c.Optimizer);
    }

    [Fact]
    public void PathsResolveAgainstTheCurrentDirectoryAndHome()
    {
        var c = TrainConfigFile.Load(null, new Dictionary<string, string> { ["model"] = "m", ["out"] = "~/runs/x" });
        Assert.Equal(Path.GetFullPath("m"), c.Model);
        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "runs/x"), c.Out);
        Assert.Equal("text", c.TextField);   // not a path: left as written
    }

    [Fact]
    public void UnknownKeyInTheFileNamesTheFileLineAndNearestKey()
    {
        using var tmp = new TestPaths.TempDir();
        var e = LoadFails(tmp, "model: m\nmicro_batch: 4\n");
        Assert.Equal($"unknown key 'micro_batch' in {tmp["c.yaml"]}:2; did you mean 'micro_batch_size'?", e.Message);
        Assert.Contains("did you mean 'grad_accum_steps'?", LoadFails(tmp, "grad-accum-steps: 2\n").Message);
        Assert.Contains("did you mean 'muon_lr'?", LoadFails(tmp, "muon_lt: 0.1\n").Message);
    }

    [Fact]
    public void UnknownOverrideKeyNamesTheNearestKey()
    {
        var e = Assert.Throws<DeepenException>(() => TrainConfigFile.Load(null, new Dictionary<string, string> { ["--max-step"] = "3" }));
        Assert.Contains("unknown key 'max-step'", e.Message);
        Assert.Contains("did you mean 'max_steps'?", e.Message);
    }

    [Theory]
    [InlineData("micro_batch_size: eight", "micro_batch_size", "'eight'", "an integer")]
    [InlineData("max_steps: 1.5", "max_steps", "'1.5'", "an integer")]
    [InlineData("max_steps: 99999999999", "max_steps", "'99999999999'", "an integer")]
    [InlineData("lr: fast", "lr", "'fast'", "a number")]
    [InlineData("seed: 7x", "seed", "'7x'", "an integer")]
    [InlineData("val_recurrences: [1, two]", "val_recurrences", "'two'", "a list of integers")]
    [InlineData("val_recurrences: 1,2,x", "val_recurrences", "'x'", "a list of integers")]
    [InlineData("micro_batch_size: [1, 2]", "micro_batch_size", "list", "an integer")]
    [InlineData("model: {a: 1}", "model", "Mapping", "a string")]
    [InlineData("micro_batch_size:", "micro_batch_size", "no value", "an integer")]
    public void WrongTypesNameTheKeyValueFileAndExpectedType(string yaml, string key, string value, string expected)
    {
        using var tmp = new TestPaths.TempDir();
        var e = LoadFails(tmp, yaml + "\n");
        Assert.StartsWith(key + ":", e.Message);
        Assert.Contains(value, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(tmp["c.yaml"], e.Message);
    }

    [Fact]
    public void WrongTypeInAnOverrideNamesTheFlag()
    {
        var e = Assert.Throws<DeepenException>(() => TrainConfigFile.Load(null, new Dictionary<string, string> { ["grad_accum_steps"] = "lots" }));
        Assert.Equal("grad_accum_steps: 'lots' (from --grad_accum_steps) is not an integer; expected a whole number such as 8 (32-bit).", e.Message);
    }

    [Fact]
    public void MalformedYamlAndMissingFileNameTheFile()
    {
        using var tmp = new TestPaths.TempDir();
        Assert.Contains(tmp["c.yaml"] + ":", LoadFails(tmp, "model: [unclosed\n").Message);
        Assert.Contains("expected a mapping", LoadFails(tmp, "- just\n- a list\n").Message);
        var e = Assert.Throws<DeepenException>(() => TrainConfigFile.Load(tmp["nope.yaml"], None));
        Assert.Contains(tmp["nope.yaml"], e.Message);
    }

    private static TrainConfig Valid() => new() { Model = "/m", Out = "/o", TrainData = ["/d"] };

    [Fact]
    public void ValidConfigPassesAndRequiredKeysAreNamed()
    {
        var ok = Valid();
        Assert.Same(ok, ok.Validate());
        var e = Assert.Throws<DeepenException>(() => new TrainConfig().Validate());
        Assert.StartsWith("3 problems", e.Message);
        foreach (var key in new[] { "model", "out", "train_data" }) Assert.Contains($"\n  {key}: required", e.Message);
    }

    [Theory]
    [InlineData("optimizer", "sgd", "muon, adamw")]
    [InlineData("curriculum", "cosine", "none, linear, 1-sqrt")]
    [InlineData("backprop_curriculum", "1-sqrt", "none, linear")]
    [InlineData("precision", "bf16", "fp32, bf16-mixed")]
    [InlineData("on_data_end", "loop", "wrap, stop")]
    [InlineData("save_dtype", "float16", "float32, bfloat16")]
    public void EnumsNameTheKeyAndTheAllowedValues(string key, string bad, string allowed)
    {
        var e = Assert.Throws<DeepenException>(() =>         // a word outside the enum at load, one the key does not take at validation
            TrainConfigFile.Load(null, new Dictionary<string, string> { [key] = bad, ["model"] = "/m", ["out"] = "/o", ["train_data"] = "/d" }).Validate());
        Assert.Equal($"{key}: '{bad}' is not allowed; expected one of: {allowed}.", e.Message);
        foreach (var word in TrainConfigValidation.AllowedValues[key])
            Valid().WithValue(key, word).Validate();   // and each allowed word passes
    }

    [Theory]
    [InlineData("tpu", "device 'tpu': expected cpu, cuda or cuda:N.")]
    [InlineData("cuda:one", "device 'cuda:one': the CUDA index must be a non-negative integer, e.g. cuda:0.")]
    public void AnUnknownDeviceNamesTheKeyAndTheChoices(string bad, string message)
    {
        var e = Assert.Throws<DeepenException>(() => Valid().WithValue("device", bad).Validate());
        Assert.Equal(message, e.Message);
        Valid().WithValue("device", "cpu").Validate();
        Valid().WithValue("device", "").Validate();   // the default: cuda when present, else cpu
    }

    [Theory]
    [InlineData("micro_batch_size", "0", "positive integer")]
    [InlineData("grad_accum_steps", "-1", "positive integer")]
    [InlineData("max_steps", "0", "positive integer")]
    [InlineData("seq_len", "0", "positive integer")]
    [InlineData("keep_last", "0", "positive integer")]
    [InlineData("eval_every", "-5", "≥ 0")]
    [InlineData("lr", "0", "positive number")]
    [InlineData("muon_lr", ".nan", "positive number")]
    [InlineData("weight_decay", "-0.1", "≥ 0")]
    [InlineData("warmup", "1.5", "fraction in [0, 1]")]
    [InlineData("cooldown", "-0.1", "fraction in [0, 1]")]
    [InlineData("curriculum_warmup", "2", "fraction in [0, 1]")]
    [InlineData("min_lr_ratio", "1.01", "fraction in [0, 1]")]
    [InlineData("val_recurrences", "1,0,4", "positive integers")]
    public void OutOfRangeValuesNameTheKeyAndTheRange(string key, string bad, string range)
    {
        var e = Assert.Throws<DeepenException>(() => Valid().WithValue(key, bad).Validate());
        Assert.StartsWith(key + ":", e.Message);
        Assert.Contains(range, e.Message);
    }

    [Fact]
    public void WarmupPlusCooldownMustFitTheRun()
    {
        var e = Assert.Throws<DeepenException>(() => (Valid() with { Warmup = 0.5, Cooldown = 0.6 }).Validate());
        Assert.Contains("warmup + cooldown", e.Message);
        (Valid() with { Warmup = 0.4, Cooldown = 0.6 }).Validate();
    }

    [Fact]
    public void ToYamlRoundTripsEveryKey()
    {
        using var tmp = new TestPaths.TempDir();
        var odd = new TrainConfig
        {
            Model = tmp["model dir"], Out = tmp["run: #1"], TrainData = [tmp["a.tokens"], tmp["b, c.tokens"], tmp["'q'.jsonl"]],
            ValData = [tmp["v.tokens"]], TextField = "true", SeqLen = 77, SeqLenSchedule = ["64", "128", "0.5", "1-sqrt"], OnDataEnd = Deepen.Data.DataEndAction.Stop,
            LossOn = LossTokens.Answer, AnswerMarker = "\n#### : 'x'", MicroBatchSize = 3, GradAccumSteps = 5,
            MaxSteps = 123_456, Optimizer = OptimizerKind.AdamW, Lr = 0.1 + 0.2, MuonLr = 1e-7, WeightDecay = 0, MuonWeightDecay = 1.0 / 3,
            GradClip = 1e300, Warmup = 5e-324, Cooldown = 0.35, MinLrRatio = 1, MeanRecurrence = 16, BackpropDepth = 4,
            Curriculum = CurriculumShape.None, CurriculumWarmup = 0.25, BackpropCurriculum = CurriculumShape.Linear, BackpropCurriculumStart = 2,
            Precision = PrecisionKind.Bf16Mixed, Seed = long.MinValue, Threads = 2, Device = "cuda:1", EvalEvery = 0, ValRecurrences = [32, 1, 1],
            ValBatches = 0, SaveEvery = 7, KeepLast = 9, SaveDtype = SaveDtypeKind.BFloat16,
        };
        // Every key differs from its default, so a key the writer skipped would show.
        Assert.Equal(TrainConfigKeys.All.Count, TrainConfigFile.Differences(odd, new TrainConfig()).Count);
        foreach (var config in new[] { odd, new TrainConfig(), Valid() })
        {
            var yaml = TrainConfigFile.ToYaml(config);
            var loaded = TrainConfigFile.Load(Write(tmp, yaml, "config.yaml"), None, "/elsewhere");
            Assert.Empty(TrainConfigFile.Differences(config, loaded));
            Assert.Equal(yaml, TrainConfigFile.ToYaml(loaded));
        }
        var text = TrainConfigFile.ToYaml(odd);
        Assert.StartsWith("model: ", text);
        Assert.Contains("val_recurrences: [32, 1, 1]\n", text);
        Assert.Contains("text_field: \"true\"\n", text);
        Assert.Contains("muon_lr: 1.0e-07\n", text);
        Assert.Contains("val_data: []\n", TrainConfigFile.ToYaml(new TrainConfig()));
    }

    [Fact]
    public void SaveWritesHeaderAndYamlAtomically()
    {
        using var tmp = new TestPaths.TempDir();
        var path = Path.Combine(tmp.Path, "run", "config.yaml");
        TrainConfigFile.Save(Valid(), path, ["written by a test", "second line"]);
        var text = File.ReadAllText(path);
        Assert.StartsWith("# written by a test\n# second line\nmodel: /m\n", text);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
        Assert.Empty(TrainConfigFile.Differences(Valid(), TrainConfigFile.Load(path, None)));
    }

    public static TheoryData<string> Recipes()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "configs"), "*.yaml").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Recipes))]
    public void EveryRecipeLoadsAndValidates(string file)
    {
        var path = Path.Combine(TestPaths.RepoRoot, "configs", file);
        if (file == "tiny-base-chains.yaml")   // the demo's base: tiny-base continued on chains mod 10
        {
            var p = PretrainConfigFile.Load(path, None);
            Assert.Contains("deepen pretrain --config configs/tiny-base-chains.yaml", File.ReadAllText(path));
            Assert.EndsWith(Path.Combine("models", "tiny-base"), p.InitFrom);
            Assert.Empty(p.Corpus);
            Assert.True(p.ChainCount > 0 && p.ChainWorkedFraction > 0);
            return;
        }
        if (file == "tiny-base-hops.yaml")   // tiny-base-chains continued on variable look-ups, answer-only loss
        {
            var p = PretrainConfigFile.Load(path, None);
            Assert.Contains("deepen pretrain --config configs/tiny-base-hops.yaml", File.ReadAllText(path));
            Assert.EndsWith(Path.Combine("models", "tiny-base-chains"), p.InitFrom);
            Assert.True(p.HopCount > 0 && p.ChainCount == 0);
            Assert.Equal([1, 2, 3, 4], p.HopHops.Distinct().Order());
            Assert.Equal((LossTokens.Answer, Deepen.Data.VariableHops.QueryMarker), (p.Train.LossOn, p.Train.AnswerMarker));
            Assert.InRange(p.HopWorkedFraction, 0.01, 0.99);
            return;
        }
        if (file == "tiny-base-lookup.yaml")   // a fresh 4-layer model with tiny-base's tokenizer on dense one-hop look-ups
        {
            var p = PretrainConfigFile.Load(path, None);
            Assert.Contains("deepen pretrain --config configs/tiny-base-lookup.yaml", File.ReadAllText(path));
            Assert.Null(p.InitFrom);
            Assert.EndsWith(Path.Combine("models", "tiny-base"), p.Tokenizer);
            Assert.Equal((4, 128), (p.Shape.NumLayers, p.Shape.HiddenSize));
            Assert.True(p.HopCount > 0 && p.HopAskAllFraction > 0 && p.ChainCount == 0 && p.MathCount == 0 && p.Corpus.Count == 0);
            Assert.Equal((LossTokens.Answer, Deepen.Data.VariableHops.AnswerMarker), (p.Train.LossOn, p.Train.AnswerMarker));
            return;
        }
        if (file == "tiny-base.yaml")   // a pretraining recipe: training keys plus a pretrain: section
        {
            var p = PretrainConfigFile.Load(path, None);
            Assert.Contains("deepen pretrain --config configs/tiny-base.yaml", File.ReadAllText(path));
            Assert.Equal((8, 256, 8, 4), (p.Shape.NumLayers, p.Shape.HiddenSize, p.Shape.NumHeads, p.Shape.NumKvHeads));
            Assert.Equal(4096, p.VocabSize);
            return;
        }
        var c = TrainConfigFile.Load(path, None, TestPaths.RepoRoot).Validate();   // model paths need not exist yet
        Assert.Contains($"deepen train --config configs/{file}", File.ReadAllText(path));
        if (file == "ci-tiny.yaml") return;   // the CI recipe is Deepen's own (CiRecipeTests runs it)
        // The paper's math recipe (method.md §6.2): 2^20 tokens per step, 50k steps, Muon 1e-3 + Adam 5e-5, seed 74.
        Assert.Equal(1 << 20, c.MicroBatchSize * c.GradAccumSteps * c.SeqLen);
        Assert.Equal(50_000, c.MaxSteps);
        Assert.Equal((OptimizerKind.Muon, 1e-3, 5e-5), (c.Optimizer, c.MuonLr, c.Lr));
        Assert.Equal((0.0025, 0.6, 0.001, 1.0), (c.Warmup, c.Cooldown, c.MinLrRatio, c.GradClip));
        Assert.Equal((PrecisionKind.Bf16Mixed, 74L), (c.Precision, c.Seed));
        if (file.Contains("static"))
            Assert.Equal(CurriculumShape.None, c.Curriculum);
        else
            Assert.Equal((CurriculumShape.OneSqrt, 0.75, 32, 8), (c.Curriculum, c.CurriculumWarmup, c.MeanRecurrence, c.BackpropDepth));
    }

    [Fact]
    public void NearestNameByEditDistance()
    {
        Assert.Equal(3, NameSuggestion.Distance("kitten", "sitting"));
        Assert.Equal("seed", NameSuggestion.Nearest("sed", ["seed", "seq_len"]));
        Assert.Null(NameSuggestion.Nearest("zzzzzz", ["seed", "lr"]));
    }

    [Fact]
    public void EveryKeyHasPlainHelpTextFromItsAttribute()
    {
        Assert.All(TrainConfigKeys.All, k =>
        {
            Assert.False(string.IsNullOrWhiteSpace(k.Description), k.Name);
            Assert.DoesNotContain("<", k.Description);                       // no XML-doc markup left
        });
        Assert.Equal("Sequences per micro-batch (per rank).", TrainConfigKeys.Find("micro_batch_size")!.Description);
        Assert.Contains("deepen data prepare", TrainConfigKeys.Find("train_data")!.Description);   // <c>…</c> kept as its text
    }
}

internal static class TrainConfigTestExtensions
{
    /// <summary>The config with one key set from its text, as an override would set it (paths left as given when absolute).</summary>
    public static TrainConfig WithValue(this TrainConfig c, string key, string text)
    {
        var overrides = TrainConfigKeys.All.ToDictionary(k => k.Name, k => TrainConfigFile.FormatValue(k.GetValue(c)));
        overrides[key] = text;
        return TrainConfigFile.Load(null, overrides, "/");
    }
}
