using TorchSharp.Modules;
using static TorchSharp.torch;
using Deepen.Torch;
using Deepen.Models;

namespace Deepen.Training;

/// <summary>Global gradient-norm clipping as <c>torch.nn.utils.clip_grad_norm_</c> (method.md §6.2: max norm 1.0).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Computes the global L2 norm of all gradients, <c>‖(‖g₁‖, …, ‖gₙ‖)‖₂</c>, and multiplies every gradient by
    /// <c>min(1, maxNorm / (norm + 1e-6))</c>. Returns the norm before clipping (NaN/∞ when a gradient is not finite;
    /// the gradients are then scaled by NaN, as PyTorch does without <c>error_if_nonfinite</c>). Parameters without
    /// gradients are ignored; with none at all the norm is 0.
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm = 1.0)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0.0;
        // Tensor.norm(p) passes p as a plain float; linalg.vector_norm(ord) builds a temporary Scalar for it, which a
        // collection on another thread can free mid-call (Torch/Scalars.cs; TrainStepGcStressTests caught it here).
        var norms = stack(grads.Select(g => g.to_type(ScalarType.Float32).norm(2f)).ToList());   // (n,)
        var total = norms.norm(2f);                                                               // ()
        var coef = total.PlusNumber(1e-6).reciprocal().Times(maxNorm).AtMost(1.0);   // maxNorm / (total + 1e-6), as TorchSharp computes it; ()
        foreach (var g in grads) g.mul_(coef.to_type(g.dtype));
        return total.item<float>();
    }

    /// <summary>Drops and frees every gradient (the optimizers' <c>ZeroGrad</c>).</summary>
    public static void ClearGradients(IEnumerable<NamedParameter> parameters)
    {
        foreach (var p in parameters)
            if (p.Parameter.grad is { } g) { p.Parameter.grad = null; g.Dispose(); }
    }
}
