using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Torch;

/// <summary>Truncated-normal sampling, written out because TorchSharp 0.107 has no working trunc_normal_.</summary>
public static class TruncatedNormal
{
    /// <summary>
    /// N(0, std²) truncated to [−3·std, 3·std] by the inverse-CDF method (as PyTorch's trunc_normal_):
    /// u ~ U(Φ(−3), Φ(3)), x = std·√2·erfinv(2u − 1). TorchSharp 0.107's nn.init.trunc_normal_ fills
    /// ones, so it is not used.
    /// </summary>
    public static Tensor Sample(long[] shape, double std, ScalarType dtype, Device device, Generator? generator)
    {
        using var scope = NewDisposeScope();
        double lo = NormalCdf(-3), hi = NormalCdf(3);
        // Scalars held until the method returns (an implicit temporary can be finalized during the native call).
        using Scalar width = 2 * (hi - lo), offset = 2 * lo - 1, scale = std * Math.Sqrt(2), min = -3 * std, max = 3 * std;
        var u = Uniform(shape, device, generator).mul_(width).add_(offset, Scalars.One);                // U(2Φ(−3)−1, 2Φ(3)−1)
        var x = u.erfinv_().mul_(scale).clamp_(min, max);
        return x.to(dtype, device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// U[0, 1) float32 of <paramref name="shape"/> on <paramref name="device"/>. On the CPU it is drawn with the caller's
    /// generator, exactly as before. Elsewhere it is drawn where it is used, so no (B, T, d) tensor is copied from the host
    /// each forward: with a (host) generator, through <see cref="UniformFromSeededDevice"/>, so it is still reproducible
    /// from the seed (other values than the CPU's).
    /// </summary>
    private static Tensor Uniform(long[] shape, Device device, Generator? generator) =>
        device.type == DeviceType.CPU ? rand(shape, dtype: ScalarType.Float32, device: CPU, generator: generator)
        : generator is null ? rand(shape, dtype: ScalarType.Float32, device: device)
        : UniformFromSeededDevice(shape, device, generator);

    /// <summary>
    /// U[0, 1) drawn on <paramref name="device"/> with a generator of that device seeded by one draw from the host
    /// <paramref name="generator"/>: the host generator advances as for any draw, and the same seed gives the same values.
    /// </summary>
    public static Tensor UniformFromSeededDevice(long[] shape, Device device, Generator generator)
    {
        using var seed = randint(long.MaxValue, [1], dtype: ScalarType.Int64, generator: generator);   // host: one number from the caller's generator
        using var onDevice = new Generator((ulong)seed.item<long>(), device);
        return rand(shape, dtype: ScalarType.Float32, device: device, generator: onDevice);
    }

    private static double NormalCdf(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    private static double Erf(double x)
    {
        // Chebyshev fit of erfc (Numerical Recipes erfcc), fractional error below 1.2e-7 everywhere.
        double t = 1 / (1 + 0.5 * Math.Abs(x));
        double y = 1 - t * Math.Exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                   + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? y : -y;
    }
}
