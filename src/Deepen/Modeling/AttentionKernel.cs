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
        if (groups > 1 && q.shape[2] == 1 && !causal)
        {
            // One query per head (a decode step): the G query heads that share a KV head attend as that head's G
            // queries, so the cached keys and values are read in place instead of copied G times at every step (a
            // cost that grew with the cache). Each query's dot products, softmax and sum are those of the copy.
            var grouped = q.reshape(q.shape[0], k.shape[1], groups, q.shape[3]);                 // (B, Hkv, G, hd): head i = KV head i / G
            var yg = nn.functional.scaled_dot_product_attention(grouped, k, v, mask, 0.0, false); // mask (B, 1, 1, Tk) broadcasts over G
            return yg.reshape(q.shape[0], 1, q.shape[1] * q.shape[3]);                          // (B, 1, H·hd), heads in order
        }
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
