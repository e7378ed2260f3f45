using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Modeling;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;

namespace Deepen.Models;

/// <summary>
/// A plain HF model at its own depth (the paper's non-recurrent baseline): one pass with gradient in training, one
/// cache entry per decoder layer in decoding. Saved as an HF directory (<see cref="HfLayout"/>).
/// </summary>
public sealed class PlainDeepenModel(LlamaModel model, string name = "model", JsonObject? hfConfig = null, bool ownsModule = true)
    : DeepenModel(model, name, ownsModule)
{
    public LlamaModel Model { get; } = model;
    public override bool IsRecurrent => false;
    public override int VocabSize => Model.Config.VocabSize;
    public override int ContextLength => Model.Config.MaxPositionEmbeddings;
    public override IReadOnlyList<int> EosTokenIds => Model.Config.EosTokenIds;
    public override int DefaultRecurrence => 1;
    public override (int, int) Targets(int configMean, int configDepth) => (1, 1);
    public override RecurrenceDraw Draw(int meanRecurrence, int backpropDepth, long dataStep) => new(0, 1);

    public override FlopCounter Flops
    {
        get
        {
            long nonEmbedding = Model.parameters().Sum(p => p.numel()) - Model.model.embed_tokens.weight.numel()
                                - (Model.lm_head?.weight.numel() ?? 0);
            var c = Model.Config;
            return new FlopCounter(nonEmbedding, 0, 0, 1, new AttentionShape(c.NumLayers, 0, 0, (long)c.NumHeads * c.HeadDim));
        }
    }

    public override Tensor Logits(Tensor inputs, RecurrenceDraw draw, TorchGenerator? noise, NoiseShard? shard = null, Tensor? rows = null) =>
        rows is null ? Model.forward(inputs) : Model.forward(inputs, rows);

    public override Tensor Forward(Tensor ids, DepthOptions depth, TorchGenerator? noise) => Model.forward(ids);

    public override KvCache NewCache(int batch, IReadOnlyList<int>? leftPad, long capacity, DepthOptions depth, KvCacheOptions? options = null) =>
        new(batch, leftPad, coreIterations: 1, coreLayers: 0, capacity, options);

    public override StepOutput Step(Tensor ids, KvCache cache, DepthOptions depth, TorchGenerator? noise, bool allLogits = false, RowSettings? rows = null)
    {
        var step = cache.Begin(ids.shape[1], ids.device, Model.Rope, DType);
        var x = Model.Hidden(ids, i => step.For(new KvKey(CacheStage.Layers, 0, i)));   // (B, T, d)
        cache.Commit();
        if (!allLogits) x = x.narrow(1, x.shape[1] - 1, 1);                              // (B, 1, d)
        var logits = Model.Head(x);                                                      // (B, T|1, V)
        return new StepOutput(allLogits ? logits : logits.squeeze(1), Enumerable.Repeat(1, cache.Batch).ToArray());
    }

    /// <summary>The fused <c>Wqkv</c> and <c>fc</c> go to Muon as HF's separate q/k/v and gate/up matrices, as the
    /// paper's baseline (an HF model) trains them.</summary>
    public override (IReadOnlyList<NamedParameter> Muon, IReadOnlyList<NamedParameter> Adam) ParameterGroups() =>
        ParameterGrouping.Split(NamedParameters(), (name, p) => HfLayout.RowBlocks(name, p.shape, Model.Config));

    public override IEnumerable<KeyValuePair<string, Tensor>> StateToCheckpoint(IEnumerable<KeyValuePair<string, Tensor>> state) =>
        HfLayout.StateToHf(state, Model);

    public override IReadOnlyDictionary<string, Tensor> StateFromCheckpoint(IReadOnlyDictionary<string, Tensor> state) =>
        HfLayout.StateFromHf(state, Model);

    public override void WriteInto(string dir, ScalarType dtype)
    {
        var config = (JsonObject)(hfConfig ?? ModelFactory.HfConfigJson(Model.Config)).DeepClone();
        config["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        HfLayout.Write(dir, Model, config, dtype);
    }
}
