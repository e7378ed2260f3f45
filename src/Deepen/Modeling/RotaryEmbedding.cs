using static TorchSharp.torch;
using Deepen.Torch;

namespace Deepen.Modeling;

/// <summary>
/// Rotary position embedding in HF's rotate-half (non-interleaved) convention, with the default
/// frequencies <c>θ^(−2i/hd)</c> or Llama-3's frequency scaling. Holds no parameters; the same cos/sin
/// serve every layer and every recurrence.
/// </summary>
public sealed class RotaryEmbedding
{
    /// <summary>(hd/2,) float64 inverse frequencies after any scaling.</summary>
    public double[] InvFreq { get; }

    public RotaryEmbedding(int headDim, double theta, RopeScaling? scaling) => InvFreq = ComputeInvFreq(headDim, theta, scaling);

    public static RotaryEmbedding For(ModelConfig c) => new(c.HeadDim, c.RopeTheta, c.RopeScaling);

    private static double[] ComputeInvFreq(int headDim, double theta, RopeScaling? scaling)
    {
        var inv = new double[headDim / 2];
        for (int i = 0; i < inv.Length; i++)
            inv[i] = 1.0 / Math.Pow(theta, (float)(2 * i) / headDim);   // HF divides in float32
        if (scaling is null) return inv;
        // Llama-3: long wavelengths are divided by the factor, short ones kept, the band between interpolated.
        double lowWavelen = scaling.OriginalMaxPositionEmbeddings / scaling.LowFreqFactor;
        double highWavelen = scaling.OriginalMaxPositionEmbeddings / scaling.HighFreqFactor;
        for (int i = 0; i < inv.Length; i++)
        {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen < highWavelen) continue;
            if (wavelen > lowWavelen) { inv[i] /= scaling.Factor; continue; }
            double smooth = (scaling.OriginalMaxPositionEmbeddings / wavelen - scaling.LowFreqFactor)
                            / (scaling.HighFreqFactor - scaling.LowFreqFactor);
            inv[i] = (1 - smooth) * inv[i] / scaling.Factor + smooth * inv[i];
        }
        return inv;
    }

    /// <summary>cos and sin for the given positions, each (T, hd), computed in float32 and cast to <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) CosSin(Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var inv = tensor(InvFreq.Select(v => (float)v).ToArray(), device: positions.device);       // (hd/2,)
        var freqs = positions.to_type(ScalarType.Float32).unsqueeze(-1) * inv;                      // (T, hd/2)
        var emb = cat([freqs, freqs], -1);                                                          // (T, hd)
        return (emb.cos().to_type(dtype).MoveToOuterDisposeScope(), emb.sin().to_type(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates <paramref name="x"/> (B, heads, T, hd) by cos/sin (T, hd).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);   // rotate_half
        return (x * cos).Plus(rotated * sin);
    }
}
