namespace Deepen.Models;

/// <summary>Layer counts and attention width for the optional attention-score FLOP term.</summary>
/// <param name="AttentionDim">Query width <c>H · head_dim</c> (2048 for the paper's models).</param>
public sealed record AttentionShape(int PreludeLayers, int CoreLayers, int CodaLayers, long AttentionDim);

/// <summary>
/// FLOP accounting of method.md §5.3 and effective parameters of §2.6 ([R] <c>param_counter.py</c>,
/// <c>plot.py::get_flops</c>), from per-part parameter counts so it does not depend on a model class.
/// Embeddings, LM head, adapter and <c>ln_f</c> are excluded (pass only the decoder layers' parameters).
/// <list type="bullet">
/// <item>training, per token at total recurrence r with grad depth g (8): <c>n = max(0, r − g)</c>,
/// <c>k = min(r, g)</c>, <c>N1 = N_prelude + k·N_core + N_coda</c>, <c>N2 = n·N_core</c>,
/// FLOPs = <c>6·N1 + 2·N2</c>;</item>
/// <item>inference, per token: <c>2·(N_prelude + r·N_core + N_coda)</c>;</item>
/// <item>effective parameters: <c>N_prelude + r·N_core + N_coda</c>;</item>
/// <item>a run: <c>Σ_steps FLOPs/token(r̄(step)) × tokens/step</c> with the scheduled mean r̄, not the sampled p;</item>
/// <item>the static (non-recurrent) baseline: <c>6·N_nonemb·D</c>, where N_nonemb is every parameter except the
/// embedding and the LM head (all layers plus the final norm; TinyLlama 968,976,384 = 22·44,044,288 + 2048).</item>
/// </list>
/// Attention-score FLOPs are not in the paper's numbers; <see cref="AttentionTrainingFlopsPerToken"/> gives them
/// separately for throughput reporting.
/// </summary>
public sealed class FlopCounter
{
    /// <summary>Parameters of the prelude layers.</summary>
    public long PreludeParams { get; }
    /// <summary>Parameters of one pass through the recurrent core (all its layers).</summary>
    public long CoreParams { get; }
    /// <summary>Parameters of the coda layers.</summary>
    public long CodaParams { get; }
    /// <summary>Gradient depth g of the FLOP formula (8 in the paper, whatever the backprop curriculum).</summary>
    public int GradDepth { get; }
    /// <summary>Shape for the optional attention term; null when not given.</summary>
    public AttentionShape? Attention { get; }

    public FlopCounter(long preludeParams, long coreParams, long codaParams, int gradDepth = 8, AttentionShape? attention = null)
    {
        if (preludeParams < 0 || coreParams < 0 || codaParams < 0)
            throw new ArgumentOutOfRangeException(nameof(preludeParams), "parameter counts must be ≥ 0");
        if (gradDepth < 1) throw new ArgumentOutOfRangeException(nameof(gradDepth), gradDepth, "the grad depth must be ≥ 1");
        (PreludeParams, CoreParams, CodaParams, GradDepth, Attention) = (preludeParams, coreParams, codaParams, gradDepth, attention);
    }

    /// <summary>A model whose decoder layers all have <paramref name="paramsPerLayer"/> parameters, shape (P, R, C).</summary>
    public static FlopCounter Uniform(long paramsPerLayer, int prelude, int core, int coda, int gradDepth = 8, long? attentionDim = null)
        => new(paramsPerLayer * prelude, paramsPerLayer * core, paramsPerLayer * coda, gradDepth,
               attentionDim is { } a ? new AttentionShape(prelude, core, coda, a) : null);

    /// <summary><c>N_prelude + r·N_core + N_coda</c>.</summary>
    public long EffectiveParams(int r) => PreludeParams + Check(r) * CoreParams + CodaParams;

    /// <summary><c>6·N1 + 2·N2</c> at total recurrence <paramref name="r"/>.</summary>
    public long TrainingFlopsPerToken(int r)
    {
        long n = Math.Max(0, Check(r) - GradDepth), k = Math.Min(r, GradDepth);
        long n1 = PreludeParams + k * CoreParams + CodaParams;
        long n2 = n * CoreParams;
        return 6 * n1 + 2 * n2;
    }

    /// <summary><c>2·(N_prelude + r·N_core + N_coda)</c>.</summary>
    public long InferenceFlopsPerToken(int r) => 2 * EffectiveParams(r);

    /// <summary>
    /// Training FLOPs of optimizer steps <paramref name="firstStep"/> … <paramref name="firstStep"/> + <paramref name="steps"/> − 1,
    /// each at mean recurrence <paramref name="meanRecurrenceAt"/>(step) and <paramref name="tokensPerStep"/> tokens.
    /// Summed exactly in integers, then converted.
    /// </summary>
    public double TrainingFlops(Func<long, int> meanRecurrenceAt, long steps, long tokensPerStep, long firstStep = 0)
    {
        Int128 perTokenSum = 0;
        for (long step = firstStep; step < firstStep + steps; step++)
            perTokenSum += TrainingFlopsPerToken(meanRecurrenceAt(step));
        return (double)(perTokenSum * tokensPerStep);
    }

    /// <summary>The static baseline, <c>6 · N_nonemb · D</c>.</summary>
    public static double StaticTrainingFlops(long nonEmbeddingParams, double tokens) => 6.0 * nonEmbeddingParams * tokens;

    /// <summary>
    /// Attention-score FLOPs per token for a training step at total recurrence r and context <paramref name="seqLen"/>
    /// (not part of the paper's numbers). Per layer and token the forward pass spends <c>2·T·d_attn</c> on QKᵀ and
    /// <c>2·T·d_attn</c> on A·V (PaLM's convention: the full T×T product, causal masking not discounted), and
    /// backward twice that: <c>12·T·d_attn</c> per layer with gradient and <c>4·T·d_attn</c> per forward-only layer.
    /// Layers with gradient: <c>P + k·R + C</c>; forward-only: <c>n·R</c> (n, k as in <see cref="TrainingFlopsPerToken"/>).
    /// </summary>
    public long AttentionTrainingFlopsPerToken(int r, long seqLen)
    {
        var a = Attention ?? throw new InvalidOperationException("no AttentionShape was given to this FlopCounter");
        long n = Math.Max(0, Check(r) - GradDepth), k = Math.Min(r, GradDepth);
        long gradLayers = a.PreludeLayers + k * a.CoreLayers + a.CodaLayers;
        long forwardLayers = n * a.CoreLayers;
        return (12 * gradLayers + 4 * forwardLayers) * seqLen * a.AttentionDim;
    }

    /// <summary>Attention-score FLOPs per token of a forward pass at recurrence r: <c>4·T·d_attn·(P + r·R + C)</c>.</summary>
    public long AttentionInferenceFlopsPerToken(int r, long seqLen)
    {
        var a = Attention ?? throw new InvalidOperationException("no AttentionShape was given to this FlopCounter");
        return 4 * (a.PreludeLayers + (long)Check(r) * a.CoreLayers + a.CodaLayers) * seqLen * a.AttentionDim;
    }

    private static int Check(int r) => r >= 0 ? r : throw new ArgumentOutOfRangeException(nameof(r), r, "the recurrence must be ≥ 0");
}
