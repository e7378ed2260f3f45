using Deepen.Inference;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;

namespace Deepen.Tests.Inference;

/// <summary>The sampling steps on hand-made logits, draw frequencies, seeds, and the errors for invalid values.</summary>
public class SamplingTests
{
    private static float[] Row(Tensor t) => t[0].data<float>().ToArray();

    [Fact]
    public void TopKKeepsTheKLargest()
    {
        using var logits = tensor(new float[] { 1, 5, 3, 4, 2 }).unsqueeze(0);
        var x = Row(Sampler.Process(logits, new SamplingOptions { Temperature = 1, TopK = 2 }));
        Assert.Equal(new[] { false, true, false, true, false }, x.Select(float.IsFinite));
    }

    [Fact]
    public void TopPKeepsTheSmallestNucleusReachingP()
    {
        // probabilities 0.5, 0.3, 0.15, 0.05: p = 0.75 needs the first two; p = 0.8 exactly reaches with two, 0.81 needs three.
        using var logits = tensor(new[] { 0.5f, 0.3f, 0.15f, 0.05f }.Select(v => MathF.Log(v)).ToArray()).unsqueeze(0);
        int Kept(double p) => Row(Sampler.Process(logits, new SamplingOptions { Temperature = 1, TopP = p })).Count(float.IsFinite);
        Assert.Equal(1, Kept(0.4));
        Assert.Equal(2, Kept(0.75));
        Assert.Equal(3, Kept(0.81));
        Assert.Equal(4, Kept(1.0));
    }

    [Fact]
    public void MinPDropsTokensBelowAFractionOfTheTop()
    {
        using var logits = tensor(new[] { 0.5f, 0.3f, 0.15f, 0.05f }.Select(v => MathF.Log(v)).ToArray()).unsqueeze(0);
        var x = Row(Sampler.Process(logits, new SamplingOptions { Temperature = 1, MinP = 0.2 }));   // floor 0.1
        Assert.Equal(new[] { true, true, true, false }, x.Select(float.IsFinite));
    }

    [Fact]
    public void TemperatureDividesAndRepetitionPenaltyFollowsCtrl()
    {
        using var logits = tensor(new float[] { 2, -2, 1, 0.5f }).unsqueeze(0);
        var t = Row(Sampler.Process(logits, new SamplingOptions { Temperature = 0.5 }));
        Assert.Equal(new float[] { 4, -4, 2, 1 }, t);
        var p = Row(Sampler.Process(logits, new SamplingOptions { RepetitionPenalty = 2 }, [[0, 1, 1]]));
        Assert.Equal(new float[] { 1, -4, 1, 0.5f }, p);   // greedy: penalty only; seen positive halved, seen negative doubled
    }

    [Fact]
    public void VocabularyBeyondTheTokenizerIsNeverChosen()
    {
        using var logits = tensor(new float[] { 0, 1, 9, 9 }).unsqueeze(0);
        var x = Sampler.Process(logits, SamplingOptions.Greedy, allowedVocab: 2);
        Assert.Equal(1, Sampler.Choose(x, SamplingOptions.Greedy, null)[0]);
    }

    [Fact]
    public void DrawsFollowTheProcessedDistributionAndTheSeed()
    {
        var probs = new[] { 0.6f, 0.3f, 0.1f };
        using var logits = tensor(probs.Select(v => MathF.Log(v)).ToArray()).unsqueeze(0).expand(6000, 3).contiguous();
        var options = new SamplingOptions { Temperature = 1 };
        using var g1 = new TorchGenerator(5);
        using var g2 = new TorchGenerator(5);
        var a = Sampler.Choose(Sampler.Process(logits, options), options, g1);
        var b = Sampler.Choose(Sampler.Process(logits, options), options, g2);
        Assert.Equal(a, b);
        for (int k = 0; k < 3; k++)
            Assert.InRange(a.Count(x => x == k) / 6000.0, probs[k] - 0.03, probs[k] + 0.03);
    }

    [Theory]
    [InlineData(-0.5, 0, 1.0, 0.0, 1.0, "temperature")]
    [InlineData(double.NaN, 0, 1.0, 0.0, 1.0, "temperature")]
    [InlineData(1.0, -1, 1.0, 0.0, 1.0, "top-k")]
    [InlineData(1.0, 0, 0.0, 0.0, 1.0, "top-p")]
    [InlineData(1.0, 0, 1.5, 0.0, 1.0, "top-p")]
    [InlineData(1.0, 0, 1.0, -0.1, 1.0, "min-p")]
    [InlineData(1.0, 0, 1.0, 0.0, 0.0, "repetition-penalty")]
    public void InvalidValuesAreClearErrors(double temperature, int topK, double topP, double minP, double penalty, string name)
    {
        var o = new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP, RepetitionPenalty = penalty };
        var e = Assert.Throws<DeepenException>(o.Validate);
        Assert.StartsWith(name, e.Message);
    }

    [Fact]
    public void TheDeviceDrawFollowsTheDistributionAndNeverPicksAZeroProbabilityToken()
    {
        // the draw used off the CPU (inverse CDF on the device, uniforms from the host generator), run here on CPU tensors
        using var probs = tensor(new float[] { 0.0f, 0.2f, 0.5f, 0.0f, 0.3f }).unsqueeze(0).repeat(4000, 1);   // (4000, 5)
        using var gen = new TorchGenerator(7);
        using var ids = Sampler.DrawOnDevice(probs, gen);
        var drawn = ids.data<long>().ToArray();
        Assert.Equal(4000, drawn.Length);
        Assert.DoesNotContain(0L, drawn);
        Assert.DoesNotContain(3L, drawn);
        foreach (var (id, p) in new[] { (1L, 0.2), (2L, 0.5), (4L, 0.3) })
            Assert.InRange(drawn.Count(x => x == id) / 4000.0, p - 0.03, p + 0.03);
        using var oneHot = tensor(new float[] { 0, 0, 1, 0, 0, 0, 0, 0, 0, 1 }, [2, 5]);   // rows that must give 2 and 4
        using var again = new TorchGenerator(7);
        Assert.Equal(new long[] { 2, 4 }, Sampler.DrawOnDevice(oneHot, again).data<long>().ToArray());
        using var same = new TorchGenerator(7);
        Assert.Equal(drawn, Sampler.DrawOnDevice(probs, same).data<long>().ToArray());       // reproducible from the seed
    }
}
