using static TorchSharp.torch;

namespace Deepen.Tests;

/// <summary>Tensor comparisons for assertions (TorchSharp's <c>equal</c> returns a tensor).</summary>
public static class TensorAssert
{
    /// <summary>Same shape and exactly the same values.</summary>
    public static bool Same(this Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var eq = a.eq(b).all();
        return eq.item<bool>();
    }
}
