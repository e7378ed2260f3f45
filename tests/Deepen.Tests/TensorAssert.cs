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

    /// <summary>Asserts the same shape and values within <paramref name="atol"/> (absolute), naming the largest difference.</summary>
    public static void Close(Tensor expected, Tensor actual, double atol, string what = "tensor")
    {
        Assert.Equal(expected.shape, actual.shape);
        using var diff = (expected.to_type(ScalarType.Float64) - actual.to_type(ScalarType.Float64)).abs().max();
        double d = diff.item<double>();
        Assert.True(d <= atol, $"{what}: max |Δ| = {d:E2} > {atol:E2}");
    }
}
