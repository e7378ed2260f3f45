using Deepen.Checkpoints;
using static TorchSharp.torch;

namespace Deepen.Tests.Modeling;

/// <summary>
/// Float32 logits of the plain model equal the independent PyTorch reference
/// (tests/fixtures/reference.py, HF semantics) on tiny Llama, Llama-3 and OLMo-2 checkpoints.
/// </summary>
public class HfParityTests
{
    [Theory]
    [InlineData("llama-tiny")]        // F32, untied, GQA 4/2
    [InlineData("llama-tiny-bf16")]   // stored BF16, loaded into float32
    [InlineData("llama3-tiny")]       // sharded, tied embeddings, llama3 rope scaling, explicit head_dim, GQA 4/1
    [InlineData("olmo2-tiny")]        // stored F16, post-norm + QK-norm
    public void Float32LogitsMatchReference(string fixture)
    {
        var dir = TestPaths.FixtureModel(fixture);
        using var expected = SafetensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        using var ids = expected.Read("input_ids");
        using var want = expected.Read("logits");
        using var model = HfModel.Load(dir, ScalarType.Float32);
        using var noGrad = no_grad();
        using var got = model.forward(ids.unsqueeze(0))[0];
        Assert.Equal(want.shape, got.shape);
        double maxDiff = (got - want).abs().max().item<float>();
        Assert.True(maxDiff <= 1e-4, $"{fixture}: max |Δlogit| = {maxDiff:E3} > 1e-4");
        Assert.True(want.abs().max().item<float>() > 0.1, "fixture logits are too small to be a meaningful comparison");
    }

    [Fact]
    public void Bfloat16ModelIsCloseToFloat32()
    {
        var dir = TestPaths.FixtureModel("llama-tiny");
        using var expected = SafetensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        using var ids = expected.Read("input_ids");
        using var want = expected.Read("logits");
        using var model = HfModel.Load(dir, ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, model.model.embed_tokens.weight.dtype);
        using var noGrad = no_grad();
        using var got = model.forward(ids.unsqueeze(0))[0].to_type(ScalarType.Float32);
        // bf16 keeps ~3 significant digits; through 4 layers a few percent of the logit range is expected.
        double maxDiff = (got - want).abs().max().item<float>(), range = want.abs().max().item<float>();
        Assert.True(maxDiff < 0.05 * range, $"bf16 max |Δlogit| = {maxDiff} vs logit range {range}");
        double argmaxAgree = got.argmax(-1).eq(want.argmax(-1)).to_type(ScalarType.Float32).mean().item<float>();
        Assert.True(argmaxAgree >= 0.9, $"bf16 argmax agreement {argmaxAgree:P0}");
    }
}
