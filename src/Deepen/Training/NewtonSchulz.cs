using static TorchSharp.torch;

namespace Deepen.Training;

/// <summary>
/// Muon's quintic Newton–Schulz orthogonalisation (method.md §6.1, [M] <c>zeropower_via_newtonschulz5</c>),
/// in bfloat16: transpose when rows &gt; cols, divide by <c>‖X‖_F + 1e-7</c>, then five times
/// <c>A = X Xᵀ; B = b·A + c·A·A; X = a·X + B·X</c> with <c>(a, b, c) = (3.4445, −4.7750, 2.0315)</c>,
/// and transpose back. The result is roughly <c>U S′ Vᵀ</c> with singular values spread around 1
/// (about 0.7–1.2), not exactly <c>U Vᵀ</c>.
/// </summary>
public static class NewtonSchulz
{
    public const double A = 3.4445, B = -4.7750, C = 2.0315;

    // The coefficients as rooted native scalars. An implicit double → Scalar made per call can be finalized by
    // the GC while the native op still reads it (TorchSharp passes only the handle); under parallel load that
    // showed up once as a garbage scalar ("toBFloat16 … overflow") in a test run. Static fields are never collected.
    private static readonly TorchSharp.Scalar ScalarA = A, ScalarB = B, ScalarC = C, Eps = 1e-7;

    /// <summary>Orthogonalises a 2-D tensor; returns a new bfloat16 tensor of the same shape.</summary>
    public static Tensor Orthogonalize(Tensor g, int steps = 5)   // (rows, cols) → (rows, cols) bf16
    {
        if (g.dim() != 2) throw new ArgumentException($"Newton–Schulz needs a 2-D matrix, got shape [{string.Join(", ", g.shape)}]", nameof(g));
        using var scope = NewDisposeScope();
        bool tall = g.shape[0] > g.shape[1];
        var x = g.to_type(ScalarType.BFloat16);                   // (rows, cols)
        if (tall) x = x.t();                                        // (m, n) with m ≤ n
        x = x / x.norm().add(Eps);                                  // spectral norm ≤ 1
        for (int i = 0; i < steps; i++)
        {
            var a = x.mm(x.t());                                    // (m, m)
            var b = a.mul(ScalarB) + a.mm(a).mul(ScalarC);          // (m, m)
            x = x.mul(ScalarA) + b.mm(x);                           // (m, n)
        }
        if (tall) x = x.t();
        return x.contiguous().MoveToOuterDisposeScope();
    }
}
