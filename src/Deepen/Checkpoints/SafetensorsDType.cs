using TorchSharp;

namespace Deepen.Checkpoints;

/// <summary>Maps safetensors dtype strings to TorchSharp scalar types and element sizes.</summary>
public static class SafetensorsDType
{
    public static torch.ScalarType ToScalarType(string dtype, string file, string key) => dtype switch
    {
        "F32" => torch.ScalarType.Float32,
        "BF16" => torch.ScalarType.BFloat16,
        "F16" => torch.ScalarType.Float16,
        "F64" => torch.ScalarType.Float64,
        "I64" => torch.ScalarType.Int64,
        "I32" => torch.ScalarType.Int32,
        "I16" => torch.ScalarType.Int16,
        "I8" => torch.ScalarType.Int8,
        "U8" => torch.ScalarType.Byte,
        "BOOL" => torch.ScalarType.Bool,
        _ => throw new DeepenException($"{file}: tensor '{key}' has dtype '{dtype}'; expected one of F32, BF16, F16, F64, I64, I32, I16, I8, U8, BOOL."),
    };

    public static string FromScalarType(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float32 => "F32",
        torch.ScalarType.BFloat16 => "BF16",
        torch.ScalarType.Float16 => "F16",
        torch.ScalarType.Float64 => "F64",
        torch.ScalarType.Int64 => "I64",
        torch.ScalarType.Int32 => "I32",
        torch.ScalarType.Int16 => "I16",
        torch.ScalarType.Int8 => "I8",
        torch.ScalarType.Byte => "U8",
        torch.ScalarType.Bool => "BOOL",
        _ => throw new ArgumentException($"No safetensors dtype for {type}."),
    };

    public static int ElementSize(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float64 or torch.ScalarType.Int64 => 8,
        torch.ScalarType.Float32 or torch.ScalarType.Int32 => 4,
        torch.ScalarType.BFloat16 or torch.ScalarType.Float16 or torch.ScalarType.Int16 => 2,
        _ => 1,
    };
}
