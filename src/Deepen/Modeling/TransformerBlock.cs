using TorchSharp;
using static TorchSharp.torch;
using Deepen.Torch;

namespace Deepen.Modeling;

/// <summary>
/// The decoder layer of every model, plain or recurrent, in Raven's key layout (<c>norm_1</c>, <c>attn.Wqkv</c>,
/// <c>attn.proj</c>, <c>norm_2</c>, <c>mlp.fc</c>, <c>mlp.proj</c>), keeping the source model's native block:
/// Llama (pre-norm) <c>x + attn(norm_1(x))</c>, <c>x + mlp(norm_2(x))</c>;
/// OLMo-2 (post-norm) <c>x + norm_1(attn(x))</c>, <c>x + norm_2(mlp(x))</c>.
/// An HF layer's separate projections and norm names are mapped onto these keys at load and save time (<c>Checkpoints.HfLayout</c>).
/// </summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    public readonly RmsNorm norm_1, norm_2;
    public readonly FusedAttention attn;
    public readonly GatedMlp mlp;
    private readonly BlockStyle _style;

    public TransformerBlock(ModelConfig c, ScalarType dtype, Device? device) : base("block")
    {
        _style = c.Style;
        norm_1 = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        attn = new FusedAttention(c, dtype, device);
        norm_2 = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        mlp = new GatedMlp(c, dtype, device);
        register_module(nameof(norm_1), norm_1);
        register_module(nameof(attn), attn);
        register_module(nameof(norm_2), norm_2);
        register_module(nameof(mlp), mlp);
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin) => Forward(x, new SequenceAttention(cos, sin));   // (B, T, d) → (B, T, d)

    /// <summary>
    /// The block, (B, T, d) → (B, T, d), for every use: the whole sequence (<see cref="SequenceAttention"/>) or one
    /// step through a KV cache.
    /// </summary>
    public Tensor Forward(Tensor x, AttentionContext attention)
    {
        if (_style == BlockStyle.PreNorm)
        {
            x = x.Plus(attn.Forward(norm_1.forward(x), attention));
            return x.Plus(mlp.forward(norm_2.forward(x)));
        }
        x = x.Plus(norm_1.forward(attn.Forward(x, attention)));
        return x.Plus(norm_2.forward(mlp.forward(x)));
    }
}
