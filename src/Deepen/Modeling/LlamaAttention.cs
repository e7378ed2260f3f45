using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>HF <c>self_attn</c>: separate q/k/v/o projections, with OLMo-2's q_norm/k_norm when present.</summary>
public sealed class LlamaAttention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    public readonly Projection q_proj, k_proj, v_proj, o_proj;
    public readonly RmsNorm? q_norm, k_norm;
    private readonly int _heads, _kvHeads, _headDim;

    public LlamaAttention(ModelConfig c, ScalarType dtype, Device? device) : base("self_attn")
    {
        (_heads, _kvHeads, _headDim) = (c.NumHeads, c.NumKvHeads, c.HeadDim);
        q_proj = new Projection(c.HiddenSize, c.NumHeads * c.HeadDim, dtype, device);
        k_proj = new Projection(c.HiddenSize, c.NumKvHeads * c.HeadDim, dtype, device);
        v_proj = new Projection(c.HiddenSize, c.NumKvHeads * c.HeadDim, dtype, device);
        o_proj = new Projection(c.NumHeads * c.HeadDim, c.HiddenSize, dtype, device);
        register_module(nameof(q_proj), q_proj);
        register_module(nameof(k_proj), k_proj);
        register_module(nameof(v_proj), v_proj);
        register_module(nameof(o_proj), o_proj);
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
        Tensor q = q_proj.forward(x), k = k_proj.forward(x), v = v_proj.forward(x);   // (B, T, H·hd), (B, T, Hkv·hd) ×2
        if (q_norm is not null) { q = q_norm.forward(q); k = k_norm!.forward(k); }    // OLMo-2: over the whole vector, before rope
        var y = attention.Attend(q.view(b, t, _heads, _headDim), k.view(b, t, _kvHeads, _headDim), v.view(b, t, _kvHeads, _headDim));
        return o_proj.forward(y);
    }
}

/// <summary>HF <c>mlp</c>: <c>down_proj(silu(gate_proj(x)) ⊙ up_proj(x))</c>.</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    public readonly Projection gate_proj, up_proj, down_proj;

    public LlamaMlp(ModelConfig c, ScalarType dtype, Device? device) : base("mlp")
    {
        gate_proj = new Projection(c.HiddenSize, c.IntermediateSize, dtype, device);
        up_proj = new Projection(c.HiddenSize, c.IntermediateSize, dtype, device);
        down_proj = new Projection(c.IntermediateSize, c.HiddenSize, dtype, device);
        register_module(nameof(gate_proj), gate_proj);
        register_module(nameof(up_proj), up_proj);
        register_module(nameof(down_proj), down_proj);
    }

    public override Tensor forward(Tensor x) =>   // (B, T, d) → (B, T, d)
        down_proj.forward(nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x));
}
