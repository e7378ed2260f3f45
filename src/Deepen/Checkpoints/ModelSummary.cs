using Deepen.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>A parameter group of a model and its size.</summary>
public sealed record PartCount(string Part, long Parameters, int Tensors);

/// <summary>
/// What <c>deepen inspect</c> shows: the config, the parameter count per part, the stored dtype. Every
/// tensor's shape is checked against the config by reading only the safetensors headers, so a 1B
/// model is inspected in well under a second.
/// </summary>
public sealed record ModelSummary(ModelConfig Config, RecurrentConfig? Recurrent, string StoredDType, IReadOnlyList<PartCount> Parts, int Files)
{
    public long TotalParameters => Parts.Sum(p => p.Parameters);

    public long PartParameters(string part) => Parts.FirstOrDefault(p => p.Part == part)?.Parameters ?? 0;

    /// <summary>Summarises a plain HF or a recurrent model directory.</summary>
    public static ModelSummary For(string dir)
    {
        if (RecurrentCheckpoint.IsRecurrent(dir))
        {
            using var rstore = TensorStore.Open(dir);
            var rc = RecurrentCheckpoint.LoadConfig(dir, rstore);
            return Summarise(rc.Block, rc, rstore, ExpectedShapes(() => new RecurrentModel(rc, ScalarType.Float32, meta)));
        }
        var config = HfConfig.Load(dir);
        using var store = TensorStore.Open(dir);
        return Summarise(config, null, store, HfShapes(config));
    }

    private static ModelSummary Summarise(ModelConfig config, RecurrentConfig? rc, TensorStore store, Dictionary<string, long[]> shapes)
    {
        CheckShapes(store, shapes);
        var parts = shapes.GroupBy(kv => PartOf(kv.Key))
            .Select(g => new PartCount(g.Key, g.Sum(kv => kv.Value.Aggregate(1L, (a, b) => a * b)), g.Count()))
            .ToList();
        return new ModelSummary(config, rc, store.StoredDType(), parts, store.Files.Count);
    }

    private static readonly Device meta = new(DeviceType.META);

    /// <summary>Parameter name → shape of a model built on the meta device (no memory, no data).</summary>
    public static Dictionary<string, long[]> ExpectedShapes(Func<nn.Module> build)
    {
        using var m = build();
        return m.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
    }

    /// <summary>HF key → shape of every tensor a plain model of <paramref name="config"/> stores.</summary>
    public static Dictionary<string, long[]> HfShapes(ModelConfig config) =>
        HfLayout.Shapes(ExpectedShapes(() => new LlamaModel(config, ScalarType.Float32, meta)), config);

    public static void CheckShapes(TensorStore store, IReadOnlyDictionary<string, long[]> shapes)
    {
        foreach (var (key, shape) in shapes) store.Entry(key, shape);
    }

    private static string PartOf(string key) => key switch
    {
        _ when key.Contains("embed_tokens") || key.Contains(".wte.") => "embedding",
        _ when key.StartsWith("lm_head") => "lm_head",
        _ when key.StartsWith("model.layers.") => "layers",
        _ when key.Contains(".prelude.") => "prelude",
        _ when key.Contains(".core_block.") => "core_block",
        _ when key.Contains(".coda.") => "coda",
        _ when key.Contains("adapter") => "adapter",
        _ => "final norm",
    };
}
