using static TorchSharp.torch;

namespace Deepen.Torch;

/// <summary>TorchSharp calls whose spelling differs from PyTorch's, each written once with the reason.</summary>
public static class TorchOps
{
    /// <summary>
    /// input·β + (b1 @ b2)·α, PyTorch's <c>torch.baddbmm(input, b1, b2, beta=β, alpha=α)</c>. TorchSharp 0.107 hands its
    /// baddbmm arguments to libtorch shifted by one (the tensor it is called on becomes batch1, the first argument batch2,
    /// the second the addend; <c>torch.baddbmm</c> likewise), so the call is spelled accordingly here; Muon's
    /// reference-value tests fail if that changes.
    /// </summary>
    public static Tensor Baddbmm(Tensor input, Tensor b1, Tensor b2, float beta, float alpha) =>
        b1.baddbmm(b2, input, beta: beta, alpha: alpha);
}
