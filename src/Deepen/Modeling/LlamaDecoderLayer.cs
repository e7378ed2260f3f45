using TorchSharp;
using static TorchSharp.torch;
using Deepen.Torch;

namespace Deepen.Modeling;

/// <summary>
/// One HF decoder layer. Llama (pre-norm): <c>x + attn(input_layernorm(x))</c>, <c>x + mlp(post_attention_layernorm(x))</c>.
/// OLMo-2 (post-norm): <c>x + post_attention_layernorm(attn(x))</c>, <c>x + post_feedforward_layernorm(mlp(x))</c>.
/// </summary>
public sealed class LlamaDecoderLayer : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    public readonly LlamaAttention self_attn;
    public readonly LlamaMlp mlp;
    public readonly RmsNorm? input_layernorm;
    public readonly RmsNorm post_attention_layernorm;
    public readonly RmsNorm? post_feedforward_layernorm;
    private readonly BlockStyle _style;

    public LlamaDecoderLayer(ModelConfig c, ScalarType dtype, Device? device) : base("layer")
    {
        _style = c.Style;
        self_attn = new LlamaAttention(c, dtype, device);
        mlp = new LlamaMlp(c, dtype, device);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        register_module(nameof(self_attn), self_attn);
        register_module(nameof(mlp), mlp);
        if (_style == BlockStyle.PreNorm)
        {
            input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
            register_module(nameof(input_layernorm), input_layernorm);
        }
        register_module(nameof(post_attention_layernorm), post_attention_layernorm);
        if (_style == BlockStyle.PostNormQkNorm)
        {
            post_feedforward_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
            register_module(nameof(post_feedforward_layernorm), post_feedforward_layernorm);
        }
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin) => Forward(x, new SequenceAttention(cos, sin));   // (B, T, d) → (B, T, d)

    /// <summary>
    /// The layer, (B, T, d) → (B, T, d), for every use: the whole sequence (<see cref="SequenceAttention"/>) or one
    /// step through a KV cache.
    /// </summary>
    public Tensor Forward(Tensor x, AttentionContext attention)
    {
        if (_style == BlockStyle.PreNorm)
        {
            x = x.Plus(self_attn.Forward(input_layernorm!.forward(x), attention));
            return x.Plus(mlp.forward(post_attention_layernorm.forward(x)));
        }
        x = x.Plus(post_attention_layernorm.forward(self_attn.Forward(x, attention)));
        return x.Plus(post_feedforward_layernorm!.forward(mlp.forward(x)));
    }
}
