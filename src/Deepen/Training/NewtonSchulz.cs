using Deepen.Torch;
using static TorchSharp.torch;

namespace Deepen.Training;

/// <summary>How the Newton–Schulz polynomial is spelled, which decides where bf16 rounds.</summary>
public enum NewtonSchulzForm
{
    /// <summary>
    /// <c>B = addmm(A, A, A, β=b, α=c)</c>, <c>X = addmm(X, B, X, β=a)</c>, as PyTorch's own
    /// <c>torch.optim.Muon</c> (2.9) writes it: each product and its scaled addend are accumulated in float and
    /// rounded to bf16 once. About half the rounding error of <see cref="Reference"/> against a float64
    /// evaluation of the same iteration, and no separate elementwise passes (the optimizer's default).
    /// </summary>
    Fused,

    /// <summary>
    /// <c>B = b·A + c·(A·A)</c>, <c>X = a·X + B·X</c> with every term rounded to bf16, exactly as [M]'s
    /// <c>zeropower_via_newtonschulz5</c> evaluates it in PyTorch: bit-identical to the Muon package's output.
    /// </summary>
    Reference,
}

/// <summary>
/// Muon's quintic Newton–Schulz orthogonalisation (method.md §6.1, [M] <c>zeropower_via_newtonschulz5</c>),
/// in bfloat16: transpose when rows &gt; cols, divide by <c>‖X‖_F + 1e-7</c>, then five times
/// <c>A = X Xᵀ; B = b·A + c·A·A; X = a·X + B·X</c> with <c>(a, b, c) = (3.4445, −4.7750, 2.0315)</c>,
/// and transpose back. The result is roughly <c>U S′ Vᵀ</c> with singular values spread around 1
/// (about 0.7–1.2), not exactly <c>U Vᵀ</c>. Takes one matrix (rows, cols) or a stack of same-shape
/// matrices (G, rows, cols), each orthogonalised on its own: one batched product instead of G small ones is
/// what makes the optimizer step fast for the many equal-shape matrices of a transformer.
/// </summary>
public static class NewtonSchulz
{
    public const double A = 3.4445, B = -4.7750, C = 2.0315;

    // The coefficients as rooted native scalars. An implicit double → Scalar made per call can be finalized by
    // the GC while the native op still reads it (TorchSharp passes only the handle); under parallel load that
    // showed up once as a garbage scalar ("toBFloat16 … overflow") in a test run. Static fields are never collected.
    private static readonly TorchSharp.Scalar ScalarA = A, ScalarB = B, ScalarC = C, Eps = 1e-7;

    /// <summary>Orthogonalises a matrix (rows, cols) or each matrix of a stack (G, rows, cols); returns a new
    /// bfloat16 tensor of the same shape.</summary>
    public static Tensor Orthogonalize(Tensor g, int steps = 5, NewtonSchulzForm form = NewtonSchulzForm.Fused)
    {
        if (g.dim() is not (2 or 3))
            throw new ArgumentException($"Newton–Schulz needs a matrix or a stack of matrices, got shape [{string.Join(", ", g.shape)}]", nameof(g));
        using var scope = NewDisposeScope();
        bool single = g.dim() == 2;                                  // a single matrix is a stack of one
        var x = (single ? g.unsqueeze(0) : g).to_type(ScalarType.BFloat16);   // (G, rows, cols)
        bool tall = x.shape[1] > x.shape[2];
        if (tall) x = x.transpose(1, 2);                             // (G, m, n) with m ≤ n
        x = x / linalg.matrix_norm(x, "fro", dims: [-2, -1], keepdim: true).add(Eps, Deepen.Torch.Scalars.One);   // spectral norm ≤ 1
        for (int i = 0; i < steps; i++)
        {
            Tensor next;
            using (NewDisposeScope())                                   // A and B of this iteration go at once
                next = (form == NewtonSchulzForm.Fused ? FusedStep(x) : ReferenceStep(x)).MoveToOuterDisposeScope();
            x.Dispose();                                                // and so does the previous X
            x = next;
        }
        if (tall) x = x.transpose(1, 2);
        if (single) x = x.squeeze(0);
        return x.contiguous().MoveToOuterDisposeScope();
    }

    private static Tensor ReferenceStep(Tensor x)                   // (G, m, n)
    {
        var a = x.bmm(x.transpose(1, 2));                            // (G, m, m)
        var b = a.mul(ScalarB).Plus(a.bmm(a).mul(ScalarC));              // (G, m, m)
        return x.mul(ScalarA).Plus(b.bmm(x));                            // (G, m, n)
    }

    private static Tensor FusedStep(Tensor x)                       // (G, m, n)
    {
        var a = x.bmm(x.transpose(1, 2));                            // (G, m, m)
        var b = TorchOps.Baddbmm(a, a, a, beta: (float)B, alpha: (float)C);   // b·A + c·A·A
        return TorchOps.Baddbmm(x, b, x, beta: (float)A, alpha: 1);           // a·X + B·X, (G, m, n)
    }
}
