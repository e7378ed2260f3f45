using Deepen.Checkpoints;
using Deepen.Modeling;
using Deepen.Training;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Tests.Checkpoints;

/// <summary>
/// The plain model's layers are the shared block (fused <c>attn.Wqkv</c>, <c>mlp.fc</c>, <c>norm_1</c>/<c>norm_2</c>);
/// HF checkpoints keep HF's keys. Reading an HF directory and writing it back must give HF's key set and every tensor
/// unchanged, for the pre-norm Llama layout (GQA) and OLMo-2's post-norm layout with QK-norms.
/// </summary>
public class HfLayoutTests
{
    [Theory]
    [InlineData("llama3-tiny")]   // Llama-3: 4 heads, 1 KV head, untied head
    [InlineData("olmo2-tiny")]    // OLMo-2: post-norm, q_norm/k_norm
    [InlineData("llama-tiny")]
    public void AnHfModelWrittenBackHasHfsKeysAndTheSameTensors(string fixture)
    {
        using var dir = new TestPaths.TempDir();
        using var model = DeepenModel.Load(TestPaths.FixtureModel(fixture));
        model.WriteInto(dir.Path, ScalarType.Float32);
        using var source = TensorStore.Open(TestPaths.FixtureModel(fixture));
        using var written = TensorStore.Open(dir.Path);
        Assert.Equal(source.Names.Order(StringComparer.Ordinal), written.Names.Order(StringComparer.Ordinal));
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", written.Names);
        foreach (var key in source.Names)
        {
            using var scope = NewDisposeScope();
            var want = source.Read(key, dtype: ScalarType.Float32);
            var got = written.Read(key, dtype: ScalarType.Float32);
            Assert.True(want.Same(got), $"{fixture}: tensor '{key}' changed");
        }
    }

    [Fact]
    public void TheFusedParametersHoldHfsRowsInOrder()
    {
        var dir = TestPaths.FixtureModel("olmo2-tiny");
        using var model = HfModel.Load(dir);
        using var store = TensorStore.Open(dir);
        var layer = model.model.layers[2];
        using var scope = NewDisposeScope();
        var qkv = cat(new[] { "q_proj", "k_proj", "v_proj" }.Select(n => store.Read($"model.layers.2.self_attn.{n}.weight", dtype: ScalarType.Float32)).ToList(), 0);
        var fc = cat(new[] { "gate_proj", "up_proj" }.Select(n => store.Read($"model.layers.2.mlp.{n}.weight", dtype: ScalarType.Float32)).ToList(), 0);
        Assert.True(layer.attn.Wqkv.weight.Same(qkv));
        Assert.True(layer.mlp.fc.weight.Same(fc));
        Assert.True(layer.norm_1.weight.Same(store.Read("model.layers.2.post_attention_layernorm.weight", dtype: ScalarType.Float32)));   // OLMo-2: after attention
        Assert.True(layer.norm_2.weight.Same(store.Read("model.layers.2.post_feedforward_layernorm.weight", dtype: ScalarType.Float32)));
        Assert.True(layer.attn.q_norm!.weight.Same(store.Read("model.layers.2.self_attn.q_norm.weight", dtype: ScalarType.Float32)));
    }

    [Fact]
    public void ShapesNameEveryHfTensorOfTheConfig()
    {
        var config = HfConfig.Load(TestPaths.FixtureModel("llama3-tiny"));
        var shapes = ModelSummary.HfShapes(config);
        Assert.Equal([8L, 64], shapes["model.layers.1.self_attn.k_proj.weight"]);   // 1 KV head of 8
        Assert.Equal([96L, 64], shapes["model.layers.1.mlp.up_proj.weight"]);
        Assert.Equal([64L], shapes["model.layers.1.input_layernorm.weight"]);
        Assert.DoesNotContain(shapes.Keys, k => k.Contains("Wqkv") || k.Contains(".fc.") || k.Contains("norm_1"));
    }
}
