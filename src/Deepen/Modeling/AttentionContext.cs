using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>
/// How an attention layer meets its keys and values. The blocks have one forward; what differs between running a
/// whole sequence (training, evaluation, the non-cached forward) and decoding through a KV cache is only this: where
/// rope takes its positions, which keys a query sees, and where the new keys and values go. <see cref="SequenceAttention"/>
/// is the whole-sequence case; the KV cache's context lives with the cache (<c>Deepen.Models.AttentionStep.For</c>).
/// </summary>
public abstract class AttentionContext
{
    /// <summary>Rope, then attention: q (B, T, H, hd), k and v (B, T, Hkv, hd), before rope → (B, T, H·hd).</summary>
    public abstract Tensor Attend(Tensor q, Tensor k, Tensor v);
}

/// <summary>A whole sequence at once: rope at positions 0..T−1 (<paramref name="cos"/>, <paramref name="sin"/>: (T, hd)) and a causal mask.</summary>
public sealed class SequenceAttention(Tensor cos, Tensor sin) : AttentionContext
{
    /// <inheritdoc/>
    public override Tensor Attend(Tensor q, Tensor k, Tensor v) => AttentionKernel.Forward(q, k, v, cos, sin);
}
