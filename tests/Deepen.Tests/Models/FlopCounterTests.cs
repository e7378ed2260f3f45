using Deepen.Training;
using Deepen.Models;

namespace Deepen.Tests.Models;

/// <summary>FLOP accounting and effective parameters against the published numbers (method.md §5.3, §2.6).</summary>
public class FlopCounterTests
{
    private const long TinyLlamaLayer = 44_044_288;   // parameters per TinyLlama decoder layer
    private const long TokensPerStep = 1L << 20;
    private static FlopCounter TinyLlama484 => FlopCounter.Uniform(TinyLlamaLayer, 4, 8, 4);

    private static void AssertRelative(double expected, double actual, double tolerance, string what)
        => Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected),
            $"{what}: {actual:E6} vs published {expected:E6} (relative {(actual - expected) / expected:E2}, allowed {tolerance:E1})");

    [Theory]
    [InlineData(4, 3.77554e20)]
    [InlineData(8, 5.97507e20)]
    [InlineData(16, 8.48057e20)]
    [InlineData(32, 1.21775e21)]
    public void TinyLlamaMathRunsMatchThePublishedFlops(int target, double published)
    {
        // 50k steps of 2^20 tokens, 1-sqrt curriculum over 75 %. The published values come from a float
        // evaluation that flips ceil() at a few boundary steps; method.md measures ≤ 3e-5 relative, so 1e-4.
        var curriculum = MeanRecurrenceCurriculum.Ramp(target, 50_000, 0.75, RampShape.OneMinusSqrt);
        AssertRelative(published, TinyLlama484.TrainingFlops(curriculum.At, 50_000, TokensPerStep), 1e-4, $"train-rec {target}");
    }

    [Fact]
    public void IntermediateCheckpointMatches()
    {
        // Target 4 at step 3,000: every step so far is at r̄ = 1 → 3000 · 2^20 · 6 · 16 · N_layer = 1.330093e19.
        var curriculum = MeanRecurrenceCurriculum.Ramp(4, 50_000, 0.75, RampShape.OneMinusSqrt);
        AssertRelative(1.330093e19, TinyLlama484.TrainingFlops(curriculum.At, 3_000, TokensPerStep), 5e-7, "target 4 @ 3k");
    }

    [Fact]
    public void StaticBaselineMatchesWithEverythingButEmbeddingAndHead()
    {
        // N_nonemb = 22 layers + the final norm (2048) = 968,976,384 (9.690e8): 6·N·D = 3.04814e20 → published 3.048e20.
        // Layers alone (968,974,336) give 3.04813e20, also 3.048e20 at four digits; HF's num_parameters(exclude_embeddings)
        // would keep lm_head (1.0345e9 → 3.25e20), which does not match, so the head is excluded too.
        const long nNonEmb = 22 * TinyLlamaLayer + 2048;
        double flops = FlopCounter.StaticTrainingFlops(nNonEmb, 50_000.0 * TokensPerStep);
        AssertRelative(3.048e20, flops, 1.7e-4, "static TinyLlama");   // half a unit in the 4th digit
        Assert.Equal(6.0 * nNonEmb * 50_000 * TokensPerStep, flops);
    }

    [Theory]
    [InlineData(1, 7.047e8)]
    [InlineData(4, 1.762e9)]
    [InlineData(32, 1.163e10)]
    public void EffectiveParamsMatchThePublishedValues(int r, double published)
    {
        AssertRelative(published, TinyLlama484.EffectiveParams(r), 5e-4, $"effective params r={r}");   // published to 4 digits
        Assert.Equal(2 * TinyLlama484.EffectiveParams(r), TinyLlama484.InferenceFlopsPerToken(r));
    }

    [Fact]
    public void PerTokenTrainingFlopsSplitAtGradDepth()
    {
        var f = new FlopCounter(preludeParams: 10, coreParams: 100, codaParams: 1000);
        Assert.Equal(6 * (10 + 100 + 1000), f.TrainingFlopsPerToken(1));          // n = 0, k = 1
        Assert.Equal(6 * (10 + 800 + 1000), f.TrainingFlopsPerToken(8));          // n = 0, k = 8
        Assert.Equal(6 * (10 + 800 + 1000) + 2 * 200, f.TrainingFlopsPerToken(10));   // n = 2 forward-only passes
        Assert.Equal(6 * (10 + 200 + 1000), new FlopCounter(10, 100, 1000, gradDepth: 2).TrainingFlopsPerToken(2));
        Assert.Equal(10 + 3200 + 1000, f.EffectiveParams(32));
    }

    [Fact]
    public void AttentionTermFollowsTheDocumentedFormula()
    {
        var f = FlopCounter.Uniform(TinyLlamaLayer, 4, 8, 4, attentionDim: 2048);
        // r = 10: grad layers 4 + 8·8 + 4 = 72, forward-only 2·8 = 16; (12·72 + 4·16) · T · d_attn.
        Assert.Equal((12L * 72 + 4 * 16) * 1024 * 2048, f.AttentionTrainingFlopsPerToken(10, 1024));
        Assert.Equal(4L * 16 * 1024 * 2048, f.AttentionInferenceFlopsPerToken(1, 1024));
        Assert.Throws<InvalidOperationException>(() => TinyLlama484.AttentionTrainingFlopsPerToken(1, 1024));
    }
}
