using Deepen.Modeling;
using static TorchSharp.torch;
using Deepen.Torch;

namespace Deepen.Inference;

/// <summary>
/// The decoder layers' forward with a <see cref="KvCache"/>: the same modules and the same arithmetic as their own
/// <c>forward</c> (which stays the non-cached path), except that keys and values go through the cache and rope
/// uses each row's positions. Tests check these against the models' own forward.
/// </summary>
internal static class CachedLayers
{
    /// <summary>A Raven layer (<see cref="TransformerBlock"/>): (B, T, d) → (B, T, d).</summary>
    public static Tensor Block(TransformerBlock b, ModelConfig c, Tensor x, AttentionStep step, KvKey key)
    {
        if (c.Style == BlockStyle.PreNorm)
        {
            x = x.Plus(FusedAttention(b.attn, b.norm_1.forward(x), step, key));
            return x.Plus(b.mlp.forward(b.norm_2.forward(x)));
        }
        x = x.Plus(b.norm_1.forward(FusedAttention(b.attn, x, step, key)));
        return x.Plus(b.norm_2.forward(b.mlp.forward(x)));
    }

    /// <summary>An HF layer (<see cref="LlamaDecoderLayer"/>): (B, T, d) → (B, T, d).</summary>
    public static Tensor Decoder(LlamaDecoderLayer l, ModelConfig c, Tensor x, AttentionStep step, KvKey key)
    {
        if (c.Style == BlockStyle.PreNorm)
        {
            x = x.Plus(HfAttention(l.self_attn, c, l.input_layernorm!.forward(x), step, key));
            return x.Plus(l.mlp.forward(l.post_attention_layernorm.forward(x)));
        }
        x = x.Plus(l.post_attention_layernorm.forward(HfAttention(l.self_attn, c, x, step, key)));
        return x.Plus(l.post_feedforward_layernorm!.forward(l.mlp.forward(x)));
    }

    private static Tensor FusedAttention(FusedAttention a, Tensor x, AttentionStep step, KvKey key)
    {
        var (q, k, v) = a.Project(x);                                  // (B, T, H, hd), (B, T, Hkv, hd) ×2
        return a.proj.forward(Attend(q, k, v, step, key));
    }

    private static Tensor HfAttention(LlamaAttention a, ModelConfig c, Tensor x, AttentionStep step, KvKey key)
    {
        var (b, t) = (x.shape[0], x.shape[1]);
        Tensor q = a.q_proj.forward(x), k = a.k_proj.forward(x), v = a.v_proj.forward(x);   // (B, T, H·hd), (B, T, Hkv·hd) ×2
        if (a.q_norm is not null) { q = a.q_norm.forward(q); k = a.k_norm!.forward(k); }    // OLMo-2: before splitting and rope
        var y = Attend(q.view(b, t, c.NumHeads, c.HeadDim), k.view(b, t, c.NumKvHeads, c.HeadDim),
                       v.view(b, t, c.NumKvHeads, c.HeadDim), step, key);                    // (B, T, H·hd)
        return a.o_proj.forward(y);
    }

    private static Tensor Attend(Tensor q, Tensor k, Tensor v, AttentionStep step, KvKey key)
    {
        q = step.Rotate(q.transpose(1, 2));                            // (B, H, T, hd)
        k = step.Rotate(k.transpose(1, 2));                            // (B, Hkv, T, hd)
        return step.Attend(key, q, k, v.transpose(1, 2));              // (B, T, H·hd)
    }
}
