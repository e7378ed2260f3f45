using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Conversion;
using Deepen.Modeling;
using static TorchSharp.torch;

namespace Deepen.Tests.Conversion;

public class ConvertTests
{
    [Theory]
    [InlineData("llama-tiny", "0:2:3")]          // drops layer 1
    [InlineData("llama3-tiny", "0:1-2:3")]       // tied embeddings, llama3 rope, GQA 4/1
    [InlineData("olmo2-tiny", "0,1:3:")]         // post-norm + QK-norm, no coda
    [InlineData("llama-tiny", "0:1,3:")]         // a strided core
    public void VerifiedConversionIsExact(string fixture, string layers)
    {
        using var tmp = new TestPaths.TempDir();
        var src = TestPaths.FixtureModel(fixture);
        var plan = LayerPlan.Parse(layers, 4);
        var result = Retrofitter.Convert(new ConvertOptions(src, tmp["out"], plan) { Verify = true });
        Assert.NotNull(result.MaxLogitDiff);
        Assert.True(result.MaxLogitDiff <= 1e-4, $"max |Δ| = {result.MaxLogitDiff}");
    }

    [Fact]
    public void VerificationDetectsAWrongMapping()
    {
        // The check must be able to fail: compare the converted model against a different plan.
        using var tmp = new TestPaths.TempDir();
        var src = TestPaths.FixtureModel("llama-tiny");
        Retrofitter.Convert(new ConvertOptions(src, tmp["out"], LayerPlan.Parse("0:2:3", 4)));
        double diff = EquivalenceCheck.MaxLogitDiff(src, tmp["out"], LayerPlan.Parse("0:1:3", 4), ScalarType.Float32);
        Assert.True(diff > 1e-2, $"a wrong plan gave max |Δ| = {diff}");
    }

    [Fact]
    public void ConvertingAgainGivesTheCommittedBytes()
    {
        using var tmp = new TestPaths.TempDir();
        Retrofitter.Convert(new ConvertOptions(TestPaths.FixtureModel("llama-tiny"), tmp["out"], LayerPlan.Parse("0:2:3", 4)) { Seed = 7 });
        var committed = File.ReadAllBytes(Path.Combine(TestPaths.FixtureModel("converted-llama-tiny"), "model.safetensors"));
        Assert.Equal(committed, File.ReadAllBytes(Path.Combine(tmp["out"], "model.safetensors")));
    }

    [Fact]
    public void PlanInConfigMatchesTheLayersCopied()
    {
        var dir = TestPaths.FixtureModel("converted-llama-tiny");
        using var store = TensorStore.Open(dir);
        var config = RecurrentCheckpoint.LoadConfig(dir, store);
        Assert.Equal([0], config.LayerPlan!.Prelude);
        Assert.Equal([2], config.LayerPlan.Core);
        Assert.Equal([3], config.LayerPlan.Coda);
        using var source = TensorStore.Open(TestPaths.FixtureModel("llama-tiny"));
        var stages = new[] { ("prelude", config.LayerPlan.Prelude), ("core_block", config.LayerPlan.Core), ("coda", config.LayerPlan.Coda) };
        foreach (var (stage, layers) in stages)
            for (int j = 0; j < layers.Count; j++)
            {
                string s = $"model.layers.{layers[j]}.", t = $"transformer.{stage}.{j}.";
                using var qkv = cat([source.Read(s + "self_attn.q_proj.weight"), source.Read(s + "self_attn.k_proj.weight"), source.Read(s + "self_attn.v_proj.weight")], 0);
                Assert.True(qkv.Same(store.Read(t + "attn.Wqkv.weight")), $"{t}attn.Wqkv");
                using var fc = cat([source.Read(s + "mlp.gate_proj.weight"), source.Read(s + "mlp.up_proj.weight")], 0);
                Assert.True(fc.Same(store.Read(t + "mlp.fc.weight")), $"{t}mlp.fc");
                Assert.True(source.Read(s + "input_layernorm.weight").Same(store.Read(t + "norm_1.weight")), $"{t}norm_1");
                Assert.True(source.Read(s + "post_attention_layernorm.weight").Same(store.Read(t + "norm_2.weight")), $"{t}norm_2");
            }
    }

    [Fact]
    public void TiedHeadIsUntiedAsACopyOfTheEmbedding()
    {
        using var store = TensorStore.Open(TestPaths.FixtureModel("converted-llama3-tiny"));
        Assert.True(store.Read("lm_head.weight").Same(store.Read("transformer.wte.weight")));
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.FixtureModel("converted-llama3-tiny"), "config.json")))!;
        Assert.False(cfg["tie_embeddings"]!.GetValue<bool>());
        Assert.Null(cfg["tie_word_embeddings"]);
        Assert.Equal("llama3", cfg["rope_scaling"]!["rope_type"]!.GetValue<string>());
    }

    [Fact]
    public void ShapeRuleMatchesThePaper()
    {
        var plan = LayerPlan.FromShape(4, 8, 4, 22);   // TinyLlama (4,8,4)
        Assert.Equal(Enumerable.Range(0, 4), plan.Prelude);
        Assert.Equal(Enumerable.Range(10, 8), plan.Core);
        Assert.Equal(Enumerable.Range(18, 4), plan.Coda);
        Assert.Equal(Enumerable.Range(4, 6), plan.Dropped(22));
        var stride = LayerPlan.FromStride(2, 4, 2, 3, 16);   // Llama-3.2 (2,4,2), stride 3 ending before the coda
        Assert.Equal([4, 7, 10, 13], stride.Core);
        var explicitPlan = LayerPlan.Parse("0,1:2,5,8,11:14,15", 16);   // the paper's other stride-3 ablation
        Assert.Equal([0, 1], explicitPlan.Prelude);
        Assert.Equal([2, 5, 8, 11], explicitPlan.Core);
        Assert.Equal([14, 15], explicitPlan.Coda);
        Assert.Equal("0-3,5", LayerPlan.Format([0, 1, 2, 3, 5]));
    }

    [Fact]
    public void AdapterInitMatchesPyTorchDefaultOrIdentity()
    {
        using var a = Retrofitter.NewAdapter(64, AdapterInit.Default, 1);
        double bound = 1.0 / Math.Sqrt(128);
        Assert.Equal([64L, 128L], a.shape);
        Assert.True(a.abs().max().item<float>() <= bound);
        Assert.True(a.abs().max().item<float>() > 0.9 * bound);
        using var same = Retrofitter.NewAdapter(64, AdapterInit.Default, 1);
        Assert.True(a.Same(same));
        using var id = Retrofitter.NewAdapter(8, AdapterInit.Identity, 0);
        using var s = rand(3, 8); using var e = rand(3, 8);
        Assert.True(nn.functional.linear(cat([s, e], -1), id).allclose(e));
        using var add = Retrofitter.NewAdapter(8, AdapterInit.Add, 0);
        Assert.True(nn.functional.linear(cat([s, e], -1), add).allclose(s + e));
    }

    [Theory]
    [InlineData("--shape", "3,2,1", "needs 6 layers but the source model has 4")]
    [InlineData("--layers", "0-1:1-2:3", "used more than once")]
    [InlineData("--layers", "0:1-2:7", "out of range")]
    [InlineData("--layers", "0:3:2", "must increase")]
    public void BadPlansAreRefusedAndNothingIsWritten(string flag, string value, string message)
    {
        using var tmp = new TestPaths.TempDir();
        var r = Cli.CliProcess.Run("convert", "--from", TestPaths.FixtureModel("llama-tiny"), "--out", tmp["out"], flag, value);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void ExistingOutputIsRefusedUnlessForced()
    {
        using var tmp = new TestPaths.TempDir();
        Directory.CreateDirectory(tmp["out"]);
        File.WriteAllText(Path.Combine(tmp["out"], "keep.txt"), "mine");
        var src = TestPaths.FixtureModel("llama-tiny");
        var r = Cli.CliProcess.Run("convert", "--from", src, "--out", tmp["out"], "--shape", "1,2,1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("already exists", r.Stderr);
        Assert.True(File.Exists(Path.Combine(tmp["out"], "keep.txt")));
        r = Cli.CliProcess.Run("convert", "--from", src, "--out", tmp["out"], "--shape", "1,2,1", "--force", "--verify");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("verified: max |Δlogit|", r.Stdout);
        Assert.False(File.Exists(Path.Combine(tmp["out"], "keep.txt")));
    }

    [Fact]
    public void RecurrentSourceIsRefused()
    {
        using var tmp = new TestPaths.TempDir();
        var r = Cli.CliProcess.Run("convert", "--from", TestPaths.FixtureModel("raven-llama-tiny"), "--out", tmp["out"], "--shape", "1,1,1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("already recurrent", r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void AuthorsFilesWithHuginnLeftoversLoad()
    {
        // The released checkpoints may carry norm_3/norm_4/freqs_cis and tie_word_embeddings.
        using var tmp = new TestPaths.TempDir();
        var src = TestPaths.FixtureModel("raven-llama-tiny");
        var dir = tmp["authors"];
        Directory.CreateDirectory(dir);
        Dictionary<string, Tensor> d;
        using (var f = SafetensorsFile.Open(Path.Combine(src, "model.safetensors")))
            d = f.Entries.Keys.ToDictionary(k => k, k => f.Read(k));
        d["transformer.core_block.0.norm_3.weight"] = ones(64);
        d["transformer.core_block.0.norm_4.weight"] = ones(64);
        d["freqs_cis"] = zeros(16, 8);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), d);
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        cfg["tie_word_embeddings"] = true;
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());

        using var want = RecurrentCheckpoint.Load(src);
        using var got = RecurrentCheckpoint.Load(dir);
        using var ids = tensor(new long[] { 1, 5, 9, 3 }).unsqueeze(0);
        using var noGrad = no_grad();
        var opts = new RecurrenceOptions(3, State: StateInit.Zeros);
        Assert.True(want.forward(ids, opts).Same(got.forward(ids, opts)));
    }
}

public class StridePlanTests
{
    [Fact]
    public void AStridePlanConvertsVerifiesAndRecordsTheLayersCopied()
    {
        using var tmp = new TestPaths.TempDir();
        var shape = new ModelConfig
        {
            ModelType = "llama", VocabSize = 1, HiddenSize = 32, IntermediateSize = 64, NumLayers = 8, NumHeads = 4, NumKvHeads = 2,
            HeadDim = 8, RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = 64,
        };
        Deepen.Checkpoints.ModelFactory.CreatePlain(shape, TestPaths.FixtureModel("ci-tiny"), tmp["base"], seed: 9, std: 0.2);
        var r = Cli.CliProcess.Run("convert", "--from", tmp["base"], "--out", tmp["out"], "--shape", "2,2,2", "--core-stride", "2", "--verify");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("core 3,5", r.Stdout);
        Assert.Contains("verified", r.Stdout);
        using var store = TensorStore.Open(tmp["out"]);
        var plan = RecurrentCheckpoint.LoadConfig(tmp["out"], store).LayerPlan!;
        Assert.Equal([0, 1], plan.Prelude);
        Assert.Equal([3, 5], plan.Core);
        Assert.Equal([6, 7], plan.Coda);
        using var source = TensorStore.Open(tmp["base"]);
        for (int j = 0; j < 2; j++)
            Assert.True(source.Read($"model.layers.{plan.Core[j]}.self_attn.o_proj.weight").Same(store.Read($"transformer.core_block.{j}.attn.proj.weight")));
        var inspect = Cli.CliProcess.Run("inspect", "--model", tmp["out"]);
        Assert.Contains("prelude 0-1 | core 3,5 | coda 6-7", inspect.Stdout);
    }
}
