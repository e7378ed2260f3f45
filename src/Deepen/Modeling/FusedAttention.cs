using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>
/// The attention of every block (Raven <c>attn</c>): one fused projection <c>Wqkv</c> with rows [q; k; v], output projection <c>proj</c>,
/// and OLMo-2's <c>q_norm</c>/<c>k_norm</c> (over the whole projected vector, before rope) when present.
/// </summary>
public sealed class FusedAttention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    public readonly Projection Wqkv, proj;
    public readonly RmsNorm? q_norm, k_norm;
    private readonly int _heads, _kvHeads, _headDim;

    public FusedAttention(ModelConfig c, ScalarType dtype, Device? device) : base("attn")
    {
        (_heads, _kvHeads, _headDim) = (c.NumHeads, c.NumKvHeads, c.HeadDim);
        Wqkv = new Projection(c.HiddenSize, c.QkvRows, dtype, device);
        proj = new Projection(c.NumHeads * c.HeadDim, c.HiddenSize, dtype, device);
        register_module(nameof(Wqkv), Wqkv);
        register_module(nameof(proj), proj);
        if (c.Style == BlockStyle.PostNormQkNorm)
        {
            q_norm = new RmsNorm(c.NumHeads * c.HeadDim, c.RmsNormEps, dtype, device);
            k_norm = new RmsNorm(c.NumKvHeads * c.HeadDim, c.RmsNormEps, dtype, device);
            register_module(nameof(q_norm), q_norm);
            register_module(nameof(k_norm), k_norm);
        }
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin) => Forward(x, new SequenceAttention(cos, sin));   // (B, T, d) → (B, T, d)

    /// <summary>x (B, T, d) → (B, T, d), its keys and values met through <paramref name="attention"/> (the whole sequence, or a KV cache).</summary>
    public Tensor Forward(Tensor x, AttentionContext attention)
    {
        var (b, t) = (x.shape[0], x.shape[1]);
        var qkv = Wqkv.forward(x);                                                          // (B, T, (H + 2Hkv)·hd)
        var parts = qkv.split([_heads * _headDim, _kvHeads * _headDim, _kvHeads * _headDim], -1);
        Tensor q = parts[0], k = parts[1], v = parts[2];
        if (q_norm is not null) { q = q_norm.forward(q); k = k_norm!.forward(k); }
        // q (B, T, H, hd), k and v (B, T, Hkv, hd), before rope
        return proj.forward(attention.Attend(q.view(b, t, _heads, _headDim), k.view(b, t, _kvHeads, _headDim), v.reshape(b, t, _kvHeads, _headDim)));
    }
}
