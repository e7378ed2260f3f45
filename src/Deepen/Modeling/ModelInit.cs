using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>Random initialisation for models built from a config rather than loaded.</summary>
public static class ModelInit
{
    /// <summary>Matrices ~ N(0, std²), norm weights 1; deterministic for a given seed.</summary>
    public static void Normal(nn.Module module, double std = 0.02, long seed = 0)
    {
        using var noGrad = no_grad();
        var gen = new Generator((ulong)seed);
        foreach (var (_, p) in module.named_parameters())
        {
            if (p.dim() == 1) p.fill_(1.0);
            else p.copy_(randn(p.shape, dtype: ScalarType.Float32, generator: gen).mul_(std).to_type(p.dtype));   // host: the CPU generator makes the same weights on every device; copy_ moves them
        }
    }
}
