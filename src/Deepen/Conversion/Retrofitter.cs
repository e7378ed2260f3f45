using Deepen.Checkpoints;
using Deepen.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Conversion;

/// <summary>How the new adapter (d × 2d) starts.</summary>
public enum AdapterInit
{
    /// <summary>PyTorch's default nn.Linear init, kaiming-uniform a = √5: U(−1/√(2d), 1/√(2d)) (what the authors' conversion leaves).</summary>
    Default,
    /// <summary>[0 | I]: the adapter passes the prelude output through and ignores the state.</summary>
    Identity,
    /// <summary>[I | I]: state plus prelude output (additive input injection, as in looped transformers); at r = 1 the
    /// base plus the small initial-state noise, and every later iteration continues from the previous one's output.</summary>
    Add,
}

/// <summary>What <c>deepen convert</c> does.</summary>
public sealed record ConvertOptions(string From, string Out, LayerPlan Plan)
{
    public ScalarType DType { get; init; } = ScalarType.Float32;
    public AdapterInit AdapterInit { get; init; } = AdapterInit.Default;
    public long Seed { get; init; }
    public bool Verify { get; init; }
    public bool Force { get; init; }
    public int MeanRecurrence { get; init; } = 32;
    public int MeanBackpropDepth { get; init; } = 8;
    public double Tolerance { get; init; } = 1e-4;
    /// <summary>Where the equivalence check runs (null: the CPU); the conversion itself copies tensors on the host.</summary>
    public Device? Device { get; init; }
    /// <summary>Tensors written so far and in all, after each one (for a progress bar).</summary>
    public Action<long, long>? Progress { get; init; }
}

/// <summary>The outcome of a conversion: the config written and, with verification, the max |Δlogit|.</summary>
public sealed record ConvertResult(RecurrentConfig Config, double? MaxLogitDiff, TimeSpan Elapsed);

/// <summary>
/// Converts a pretrained HF Llama / OLMo-2 model into the recurrent Raven layout in one step (method.md §3):
/// the chosen source layers are copied into prelude, core and coda with fused Wqkv = cat(q, k, v) and
/// fc = cat(gate, up); embeddings, final norm and head are copied (a tied head is untied); a new adapter
/// is initialised. Tensors are streamed one at a time, so a 1B model never needs two copies in memory.
/// The output is written to a temporary directory and renamed only when complete (and verified).
/// </summary>
public static class Retrofitter
{
    public static RecurrentConfig TargetConfig(ModelConfig source, LayerPlan plan, ConvertOptions o) => new()
    {
        Block = source with { NumLayers = plan.All.Count(), TieWordEmbeddings = false },
        PreludeLayers = plan.Prelude.Count,
        CoreLayers = plan.Core.Count,
        CodaLayers = plan.Coda.Count,
        MeanRecurrence = o.MeanRecurrence,
        MeanBackpropDepth = o.MeanBackpropDepth,
        LayerPlan = plan.ToRecord(),
        SourceModelType = source.ModelType,
    };

    public static ConvertResult Convert(ConvertOptions o, Action<string>? log = null)
    {
        var started = DateTime.UtcNow;
        if (!Directory.Exists(o.From)) throw new DeepenException($"{o.From}: source model directory not found.");
        if (RecurrentCheckpoint.IsRecurrent(o.From))
            throw new DeepenException($"{o.From}: this model is already recurrent (model_type '{RecurrentConfig.ModelType}'); convert expects a plain HF Llama or OLMo-2 model.");
        var source = HfConfig.Load(o.From);
        var plan = o.Plan.Validated(source.NumLayers);
        var config = TargetConfig(source, plan, o);

        double? maxDiff = null;   // AtomicDirectory refuses an existing output (without `force`) before anything is written
        AtomicDirectory.Write(o.Out, o.Force, tmp =>
        {
            using (var store = TensorStore.Open(o.From))
                WriteWeights(store, source, config, plan, o, Path.Combine(tmp, TensorStore.SingleFile), log);
            RecurrentCheckpoint.WriteConfig(tmp, config, o.DType);
            RecurrentCheckpoint.CopyCompanions(o.From, tmp);
            if (o.Verify)
            {
                log?.Invoke($"verifying on {Torch.ComputeDevice.Name(o.Device ?? CPU)}: adapter bypassed, zero state, r = 1, float32, against the pruned source model");
                maxDiff = EquivalenceCheck.MaxLogitDiff(o.From, tmp, plan, o.DType, device: o.Device);
                log?.Invoke($"max |Δlogit| = {maxDiff:E3} (tolerance {o.Tolerance:E0})");
                if (!(maxDiff <= o.Tolerance))
                    throw new DeepenException($"verification failed: max |Δlogit| = {maxDiff:E3} exceeds {o.Tolerance:E0}; nothing was written.");
            }
        });
        return new ConvertResult(config, maxDiff, DateTime.UtcNow - started);
    }

    private static void WriteWeights(TensorStore store, ModelConfig source, RecurrentConfig config, LayerPlan plan,
        ConvertOptions o, string path, Action<string>? log)
    {
        var shapes = ModelSummary.ExpectedShapes(() => new RecurrentModel(config, ScalarType.Float32, new Device(DeviceType.META)));
        var specs = shapes.Select(kv => new TensorSpec(kv.Key, kv.Value, o.DType)).ToList();
        var sourceShapes = ModelSummary.HfShapes(source);
        var stages = new Dictionary<string, IReadOnlyList<int>> { ["prelude"] = plan.Prelude, ["core_block"] = plan.Core, ["coda"] = plan.Coda };
        int written = 0;

        Tensor Src(string key) => store.Read(key, sourceShapes.TryGetValue(key, out var s) ? s : null, ScalarType.Float32);

        Tensor Produce(string name)
        {
            if (++written % 16 == 0 && o.Progress is null) log?.Invoke($"  {written}/{specs.Count} tensors");
            o.Progress?.Invoke(written, specs.Count);
            switch (name)
            {
                case "transformer.wte.weight": return Src("model.embed_tokens.weight");
                case "transformer.ln_f.weight": return Src("model.norm.weight");
                case "lm_head.weight": return Src(source.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
                case "transformer.adapter.weight": return NewAdapter(config.Block.HiddenSize, o.AdapterInit, o.Seed);
            }
            // transformer.{stage}.{j}.{block key}: the same block key as the source's layer, whose HF tensors it holds
            var parts = name.Split('.', 4);
            var sources = HfLayout.LayerParts($"model.layers.{stages[parts[1]][int.Parse(parts[2])]}.", parts[3], source);
            return HfLayout.Joined(sources.Select(p => Src(p.Key)).ToList());
        }

        SafetensorsWriter.WriteStreaming(path, specs, Produce, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>A new adapter weight (d, 2d): columns 0..d−1 act on the state, d..2d−1 on the prelude output.</summary>
    public static Tensor NewAdapter(int d, AdapterInit init, long seed)
    {
        if (init == AdapterInit.Identity)
            return cat([zeros(d, d), eye(d)], 1);                                    // [0 | I]
        if (init == AdapterInit.Add)
            return cat([eye(d), eye(d)], 1);                                         // [I | I]
        double bound = 1.0 / Math.Sqrt(2.0 * d);                                      // kaiming_uniform(a=√5) on fan_in 2d
        using var gen = new Generator((ulong)seed);
        return rand([d, 2L * d], generator: gen).mul_(2 * bound).sub_(bound);
    }
}
