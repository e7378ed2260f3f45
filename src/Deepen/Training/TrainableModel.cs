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
    /// <summary>The model's default mean recurrence and backprop depth (1 and 1 for a plain model).</summary>
    public abstract (int MeanRecurrence, int BackpropDepth) Defaults { get; }

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
    public override (int, int) Defaults => (Model.Config.MeanRecurrence, Model.Config.MeanBackpropDepth);

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
    public override (int, int) Defaults => (1, 1);

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

    public override void WriteInto(string dir, ScalarType dtype)
    {
        var config = (JsonObject)sourceConfig.DeepClone();
        config["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        File.WriteAllText(Path.Combine(dir, HfConfig.FileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        SafetensorsWriter.Write(Path.Combine(dir, TensorStore.SingleFile),
            Model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter)),
            dtype, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
