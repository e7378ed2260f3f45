using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using Deepen.Torch;

namespace Deepen.Modeling;

/// <summary>
/// RMSNorm as HF Llama computes it: normalise in float32, <c>x / sqrt(mean(x²) + eps)</c>, cast back to
/// the input dtype, then multiply by <c>weight</c>.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;   // (d,)

    // Held for the module's lifetime: an implicit temporary Scalar (x + 1e-5) can be finalized by the GC while the
    // native call still reads it (TorchSharp 0.107; seen as "Expected false to be true" from Scalar::toFloat in CI).
    private readonly Scalar _eps, _two;

    public RmsNorm(long dim, double eps, ScalarType dtype, Device? device = null) : base(nameof(RmsNorm))
    {
        _eps = eps.ToScalar();
        _two = 2.ToScalar();
        weight = new Parameter(ones(dim, dtype: dtype, device: device));
        register_parameter(nameof(weight), weight);
    }

    public override Tensor forward(Tensor x)   // (..., d)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to_type(ScalarType.Float32);
        var normed = x32 * rsqrt(x32.pow(_two).mean([-1], keepdim: true).add(_eps, Scalars.One));
        var w = weight.dtype == x.dtype ? (Tensor)weight : weight.to_type(x.dtype);
        return (normed.to_type(x.dtype) * w).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { _eps.Dispose(); _two.Dispose(); }
        base.Dispose(disposing);
    }
}
