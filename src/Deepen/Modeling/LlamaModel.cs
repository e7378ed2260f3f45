using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>HF's inner <c>model</c>: <c>embed_tokens</c>, <c>layers</c> (the same <see cref="TransformerBlock"/> as the
/// recurrent model's), <c>norm</c>.</summary>
public sealed class LlamaBackbone : nn.Module
{
    public readonly TokenEmbedding embed_tokens;
    public readonly ModuleList<TransformerBlock> layers;
    public readonly RmsNorm norm;

    public LlamaBackbone(ModelConfig c, ScalarType dtype, Device? device) : base("model")
    {
        embed_tokens = new TokenEmbedding(c.VocabSize, c.HiddenSize, dtype, device);
        layers = new ModuleList<TransformerBlock>(
            Enumerable.Range(0, c.NumLayers).Select(_ => new TransformerBlock(c, dtype, device)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        register_module(nameof(embed_tokens), embed_tokens);
        register_module(nameof(layers), layers);
        register_module(nameof(norm), norm);
    }
}

/// <summary>
/// The plain causal LM (HF <c>LlamaForCausalLM</c> / <c>Olmo2ForCausalLM</c>), built from the same block as the
/// recurrent model. State-dict keys are HF's outside the layers (<c>model.embed_tokens.weight</c>, <c>model.norm.weight</c>,
/// <c>lm_head.weight</c>) and the block's inside them (<c>model.layers.0.attn.Wqkv.weight</c>); <c>Checkpoints.HfLayout</c>
/// maps the layers to HF's keys (<c>self_attn.q_proj</c>, ...) when a model is read or written. With tied embeddings there
/// is no <c>lm_head</c> and the embedding matrix is the head.
/// </summary>
public sealed class LlamaModel : nn.Module<Tensor, Tensor>
{
    public readonly LlamaBackbone model;
    public readonly Projection? lm_head;

    public ModelConfig Config { get; }
    public RotaryEmbedding Rope { get; }

    public LlamaModel(ModelConfig c, ScalarType dtype, Device? device = null) : base(nameof(LlamaModel))
    {
        Config = c;
        Rope = RotaryEmbedding.For(c);
        model = new LlamaBackbone(c, dtype, device);
        register_module(nameof(model), model);
        if (!c.TieWordEmbeddings)
        {
            lm_head = new Projection(c.HiddenSize, c.VocabSize, dtype, device);
            register_module(nameof(lm_head), lm_head);
        }
    }

    /// <summary>Logits for every position: ids (B, T) → (B, T, V).</summary>
    public override Tensor forward(Tensor ids) => Head(Hidden(ids, Enumerable.Range(0, Config.NumLayers)));

    /// <summary>Logits at <paramref name="rows"/> (N,) int64 of the flattened (B·T) positions only: ids (B, T) → (N, V).
    /// The layers see the whole sequence; the final norm and the head run on the kept rows (see
    /// <see cref="RecurrenceOptions.Rows"/>).</summary>
    public Tensor forward(Tensor ids, Tensor rows)
    {
        var x = Hidden(ids, Enumerable.Range(0, Config.NumLayers));                     // (B, T, d)
        return Head(x.reshape(-1, x.shape[^1]).index_select(0, rows));                  // (N, d) → (N, V)
    }

    /// <summary>Runs the embedding and <paramref name="layers"/>, in that order, over the whole sequence → (B, T, d).</summary>
    private Tensor Hidden(Tensor ids, IEnumerable<int> layers)
    {
        var x = model.embed_tokens.forward(ids);                                        // (B, T, d)
        var (cos, sin) = Rope.CosSin(arange(ids.shape[1], device: ids.device), x.dtype); // (T, hd) ×2
        foreach (var i in layers) x = model.layers[i].forward(x, cos, sin);
        return x;
    }

    /// <summary>Runs the embedding and every layer, layer i meeting its keys and values through <paramref name="attention"/>(i) (a KV cache's step) → (B, T, d).</summary>
    public Tensor Hidden(Tensor ids, Func<int, AttentionContext> attention)
    {
        var x = model.embed_tokens.forward(ids);                                        // (B, T, d)
        for (int i = 0; i < Config.NumLayers; i++) x = model.layers[i].Forward(x, attention(i));
        return x;
    }

    /// <summary>
    /// Logits of the pruned model that keeps only <paramref name="layerIndices"/>, in that order
    /// (the reference side of the conversion check): ids (B, T) → (B, T, V).
    /// </summary>
    public Tensor ForwardLayers(Tensor ids, IEnumerable<int> layerIndices) => Head(Hidden(ids, layerIndices));

    /// <summary>Final norm and LM head: (B, T, d) → (B, T, V).</summary>
    public Tensor Head(Tensor x)
    {
        x = model.norm.forward(x);
        return lm_head is not null ? lm_head.forward(x) : nn.functional.linear(x, model.embed_tokens.weight.to_type(x.dtype));
    }
}
