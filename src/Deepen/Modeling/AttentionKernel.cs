using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>
/// The attention computation shared by every attention module: rope on q and k, grouped-query
/// expansion of k and v (query head i reads KV head i / (H/Hkv)), and scaled dot-product attention
/// with scale 1/sqrt(hd).
/// </summary>
public static class AttentionKernel
{
    /// <param name="q">(B, T, H, hd)</param>
    /// <param name="k">(B, T, Hkv, hd)</param>
    /// <param name="v">(B, T, Hkv, hd)</param>
    /// <returns>(B, T, H·hd)</returns>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin)
    {
        q = RotaryEmbedding.Apply(q.transpose(1, 2), cos, sin);     // (B, H, T, hd)
        k = RotaryEmbedding.Apply(k.transpose(1, 2), cos, sin);     // (B, Hkv, T, hd)
        v = v.transpose(1, 2);                                      // (B, Hkv, T, hd)
        return Attend(q, k, v, causal: q.shape[2] > 1);
    }

    /// <summary>q (B, H, Tq, hd), k/v (B, Hkv, Tk, hd) already rotated → (B, Tq, H·hd).</summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, Tensor? mask = null)
    {
        long groups = q.shape[1] / k.shape[1];
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1);                // (B, H, Tk, hd)
            v = v.repeat_interleave(groups, dim: 1);
        }
        var y = nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, causal && mask is null);   // (B, H, Tq, hd)
        var (b, h, t, hd) = (y.shape[0], y.shape[1], y.shape[2], y.shape[3]);
        return y.transpose(1, 2).reshape(b, t, h * hd);             // (B, Tq, H·hd)
    }
}
