using System.Text.Json;
using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Training;

/// <summary>
/// What the trainer needs from a model, for the recurrent model and for the plain (non-recurrent
/// baseline) model alike: logits for a micro-batch at a sampled recurrence, FLOP accounting, and saving
/// in the model's own format.
/// </summary>
public abstract class TrainableModel : IDisposable
{
    public abstract nn.Module Module { get; }
    public abstract bool IsRecurrent { get; }
    public abstract int VocabSize { get; }
    public abstract int MaxPositions { get; }
    public abstract FlopCounter Flops { get; }

    // What depth means for this model, so that callers never ask which kind they hold: a plain model is the
    // degenerate case, one pass at its own depth with gradient, one held-out loss.

    /// <summary>"recurrent" or "plain", for logs.</summary>
    public abstract string Kind { get; }

    /// <summary>The training targets: the config's mean recurrence and backprop depth (0 = the model's defaults); (1, 1) for a plain model.</summary>
    public abstract (int MeanRecurrence, int BackpropDepth) Targets(int configMean, int configDepth);

    /// <summary>A micro-batch's depth at mean r̄ and backprop depth k (method.md §4.1); a plain model runs once, with gradient.</summary>
    public abstract RecurrenceDraw Draw(int meanRecurrence, int backpropDepth, long dataStep);

    /// <summary>The recurrences to evaluate of those asked: all of them, or the one depth a plain model has.</summary>
    public abstract IReadOnlyList<int> Recurrences(IReadOnlyList<int> asked);

    /// <summary>The metrics key and the log text of a held-out loss at recurrence <paramref name="r"/>.</summary>
    public abstract (string Key, string Text) ValidationLabel(int r, double loss);

    /// <summary>The depth part of the training log line: ", r̄ → 4 (1-sqrt), backprop depth 4", or nothing for a plain model.</summary>
    public abstract string DescribeDepth(int target, string curriculum, int depth);

    /// <summary>
    /// Logits (B, T, V) for inputs (B, T) at <paramref name="draw"/> (ignored by a plain model); the initial
    /// state's noise comes from <paramref name="noise"/>, drawn for this rank's <paramref name="shard"/> of the
    /// ranks' rows when given (see <see cref="RecurrenceOptions.Shard"/>). With <paramref name="rows"/> (N,) int64
    /// into the flattened (B·T) positions, only those positions' logits are computed: (N, V)
    /// (see <see cref="RecurrenceOptions.Rows"/>).
    /// </summary>
    public abstract Tensor Logits(Tensor inputs, RecurrenceDraw draw, Generator? noise, NoiseShard? shard = null, Tensor? rows = null);

    /// <summary>Writes the model's files (config and weights) into an existing directory.</summary>
    public abstract void WriteInto(string dir, ScalarType dtype);

    public IEnumerable<(string name, TorchSharp.Modules.Parameter parameter)> NamedParameters() =>
        Module.named_parameters().Select(p => (p.name, p.parameter));

    /// <summary>The Muon and Adam groups of method.md §6.1 (<see cref="ParameterGrouping"/>), each Muon matrix as the
    /// model's own checkpoint format holds it.</summary>
    public virtual (IReadOnlyList<NamedParameter> Muon, IReadOnlyList<NamedParameter> Adam) ParameterGroups() =>
        ParameterGrouping.Split(NamedParameters());

    /// <summary>The device the weights live on; batches, states and optimizer buffers follow it.</summary>
    public Device Device => Module.parameters().First().device;

    /// <summary>Loads a recurrent or plain model from <paramref name="dir"/> in float32 (master weights) onto <paramref name="device"/> (default: CPU).</summary>
    public static TrainableModel Load(string dir, Device? device = null) =>
        RecurrentCheckpoint.IsRecurrent(dir)
            ? new RecurrentTrainable(RecurrentCheckpoint.Load(dir, ScalarType.Float32, device))
            : new PlainTrainable(HfModel.Load(dir, ScalarType.Float32, device), HfConfig.ReadJson(dir));

    public void Dispose()
    {
        Module.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The recurrent model: each micro-batch runs its sampled (n no-grad, k grad) iterations.</summary>
public sealed class RecurrentTrainable(RecurrentModel model) : TrainableModel
{
    public RecurrentModel Model { get; } = model;
    public override nn.Module Module => Model;
    public override bool IsRecurrent => true;
    public override int VocabSize => Model.Config.Block.VocabSize;
    public override int MaxPositions => Model.Config.Block.MaxPositionEmbeddings;
    public override string Kind => "recurrent";
    public override (int, int) Targets(int configMean, int configDepth) =>
        (configMean > 0 ? configMean : Model.Config.MeanRecurrence, configDepth > 0 ? configDepth : Model.Config.MeanBackpropDepth);
    public override RecurrenceDraw Draw(int meanRecurrence, int backpropDepth, long dataStep) => RecurrenceSampler.Draw(meanRecurrence, backpropDepth, dataStep);
    public override IReadOnlyList<int> Recurrences(IReadOnlyList<int> asked) => asked;
    public override (string, string) ValidationLabel(int r, double loss) => ($"val_loss_r{r}", $"r={r} {loss:F4}");
    public override string DescribeDepth(int target, string curriculum, int depth) => $", r̄ → {target} ({curriculum}), backprop depth {depth}";

    public override FlopCounter Flops
    {
        get
        {
            var (p, c, d, _) = Model.ParameterCounts();
            var b = Model.Config.Block;
            return new FlopCounter(p, c, d, Model.Config.MeanBackpropDepth,
                new AttentionShape(Model.Config.PreludeLayers, Model.Config.CoreLayers, Model.Config.CodaLayers, (long)b.NumHeads * b.HeadDim));
        }
    }

    public override Tensor Logits(Tensor inputs, RecurrenceDraw draw, Generator? noise, NoiseShard? shard = null, Tensor? rows = null) =>
        Model.forward(inputs, new RecurrenceOptions(draw.Total, draw.Grad, StateInit.Random, noise) { Shard = shard, Rows = rows });

    public override void WriteInto(string dir, ScalarType dtype)
    {
        RecurrentCheckpoint.WriteConfig(dir, Model.Config, dtype);
        SafetensorsWriter.Write(Path.Combine(dir, TensorStore.SingleFile),
            Model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter)),
            dtype, new Dictionary<string, string> { ["format"] = "pt" });
    }
}

/// <summary>The plain HF model, trained at its own depth (the paper's non-recurrent baseline).</summary>
public sealed class PlainTrainable(LlamaModel model, JsonObject sourceConfig) : TrainableModel
{
    public LlamaModel Model { get; } = model;
    public override nn.Module Module => Model;
    public override bool IsRecurrent => false;
    public override int VocabSize => Model.Config.VocabSize;
    public override int MaxPositions => Model.Config.MaxPositionEmbeddings;
    public override string Kind => "plain";
    public override (int, int) Targets(int configMean, int configDepth) => (1, 1);
    public override RecurrenceDraw Draw(int meanRecurrence, int backpropDepth, long dataStep) => new(0, 1);
    public override IReadOnlyList<int> Recurrences(IReadOnlyList<int> asked) => [1];
    public override (string, string) ValidationLabel(int r, double loss) => ("val_loss", $"{loss:F4}");
    public override string DescribeDepth(int target, string curriculum, int depth) => "";

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

    public override Tensor Logits(Tensor inputs, RecurrenceDraw draw, Generator? noise, NoiseShard? shard = null, Tensor? rows = null) =>
        rows is null ? Model.forward(inputs) : Model.forward(inputs, rows);

    /// <summary>The fused <c>Wqkv</c> and <c>fc</c> go to Muon as HF's separate q/k/v and gate/up matrices, as the
    /// paper's baseline (an HF model) trains them.</summary>
    public override (IReadOnlyList<NamedParameter> Muon, IReadOnlyList<NamedParameter> Adam) ParameterGroups() =>
        ParameterGrouping.Split(NamedParameters(), (name, p) => HfLayout.RowBlocks(name, p.shape, Model.Config));

    public override void WriteInto(string dir, ScalarType dtype)
    {
        var config = (JsonObject)sourceConfig.DeepClone();
        config["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        File.WriteAllText(Path.Combine(dir, HfConfig.FileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        SafetensorsWriter.Write(Path.Combine(dir, TensorStore.SingleFile), HfLayout.Tensors(Model),
            dtype, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
