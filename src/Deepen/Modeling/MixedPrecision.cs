using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>
/// Mixed precision by hand (TorchSharp has no autocast): inside <see cref="Bf16Matmuls"/>, every
/// <see cref="Projection"/> casts its input and weight to bfloat16 for the matmul and returns the result
/// in the input's dtype, so master weights, the residual stream, norms and the loss stay float32.
/// The setting is per thread, like TorchSharp's dispose scopes.
/// </summary>
public static class MixedPrecision
{
    [ThreadStatic] private static ScalarType? _matmulDType;

    /// <summary>The dtype matmuls run in on this thread, or null for the operands' own dtype.</summary>
    public static ScalarType? MatmulDType => _matmulDType;

    /// <summary>Runs projections in bfloat16 until the returned scope is disposed.</summary>
    public static IDisposable Bf16Matmuls() => Use(ScalarType.BFloat16);

    /// <summary>Runs projections in <paramref name="dtype"/> (null: off) until the returned scope is disposed.</summary>
    public static IDisposable Use(ScalarType? dtype)
    {
        var previous = _matmulDType;
        _matmulDType = dtype;
        return new Restore(previous);
    }

    private sealed class Restore(ScalarType? previous) : IDisposable
    {
        public void Dispose() => _matmulDType = previous;
    }
}
