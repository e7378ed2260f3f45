using System.Text.Json;
using Deepen.Modeling;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>
/// Reads and writes recurrent models in the released Raven layout (method.md §10): <c>config.json</c>,
/// <c>model.safetensors</c> (or shards), and the source model's tokenizer files.
/// </summary>
public static class RecurrentCheckpoint
{
    /// <summary>Tokenizer and generation files copied from the source model when present.</summary>
    public static readonly string[] CompanionFiles =
    [
        "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
        "generation_config.json", "added_tokens.json",
    ];

    public static bool IsRecurrent(string dir) =>
        File.Exists(Path.Combine(dir, HfConfig.FileName)) && HfConfig.ModelTypeOf(HfConfig.ReadJson(dir)) == RecurrentConfig.ModelType;

    /// <summary>Reads the config; the OLMo-2 variant is detected by the presence of <c>attn.q_norm</c> tensors.</summary>
    public static RecurrentConfig LoadConfig(string dir, TensorStore store)
    {
        var json = HfConfig.ReadJson(dir);
        var style = store.Names.Any(n => n.EndsWith(".attn.q_norm.weight", StringComparison.Ordinal))
            ? BlockStyle.PostNormQkNorm : BlockStyle.PreNorm;
        return RecurrentConfig.Parse(json, Path.Combine(dir, HfConfig.FileName), style);
    }

    public static RecurrentModel Load(string dir, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        using var store = TensorStore.Open(dir);
        var config = LoadConfig(dir, store);
        var model = new RecurrentModel(config, dtype, device);
        try { WeightLoader.Load(model, store); }
        catch { model.Dispose(); throw; }
        model.eval();
        return model;
    }

    /// <summary>Writes the model to <paramref name="dir"/> through a temporary sibling directory renamed when complete.</summary>
    public static void Save(RecurrentModel model, string dir, ScalarType dtype, string? companionSourceDir = null, bool overwrite = false)
    {
        AtomicDirectory.Write(dir, overwrite, tmp =>
        {
            WriteInto(tmp, model, dtype);
            if (companionSourceDir is not null) CopyCompanions(companionSourceDir, tmp);
        });
    }

    /// <summary>Writes the model's config.json and weights (in <paramref name="dtype"/>) into the existing directory <paramref name="dir"/>.</summary>
    public static void WriteInto(string dir, RecurrentModel model, ScalarType dtype)
    {
        WriteConfig(dir, model.Config, dtype);
        SafetensorsWriter.Write(Path.Combine(dir, TensorStore.SingleFile),
            model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter)),
            dtype, new Dictionary<string, string> { ["format"] = "pt" });
    }

    public static void WriteConfig(string dir, RecurrentConfig config, ScalarType dtype)
    {
        var name = dtype == ScalarType.BFloat16 ? "bfloat16" : dtype == ScalarType.Float16 ? "float16" : "float32";
        File.WriteAllText(Path.Combine(dir, HfConfig.FileName),
            config.ToJson(name).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public static void CopyCompanions(string fromDir, string toDir)
    {
        foreach (var f in CompanionFiles)
        {
            var src = Path.Combine(fromDir, f);
            if (File.Exists(src)) File.Copy(src, Path.Combine(toDir, f), overwrite: true);
        }
    }
}
