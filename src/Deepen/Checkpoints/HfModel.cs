using Deepen.Modeling;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>Loads a plain Llama-family model from an HF directory.</summary>
public static class HfModel
{
    public static LlamaModel Load(string dir, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var config = HfConfig.Load(dir);
        using var store = TensorStore.Open(dir);
        var model = new LlamaModel(config, dtype, device);
        try { HfLayout.Load(model, store); }
        catch { model.Dispose(); throw; }
        model.eval();
        return model;
    }

    public static ScalarType ParseDType(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" or "f16" => ScalarType.Float16,
        _ => throw DeepenException.BadSetting("dtype", $"'{name}' is not supported; expected float32 or bfloat16."),
    };
}
