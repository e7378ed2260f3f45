using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Torch;

/// <summary>
/// Tensor arithmetic that creates no temporary <c>Scalar</c>. TorchSharp 0.107 turns every number it passes to libtorch
/// into a <c>Scalar</c> object and hands over its native handle without keeping the object alive, so when another thread
/// triggers a garbage collection during the call, the finalizer can free the scalar while libtorch still reads it
/// ("Expected false to be true ... from toFloat at c10/core/Scalar.h"; upstream PRs #1434/#1496). Even <c>a + b</c> of two
/// tensors does this: it is <c>add(b, alpha: 1)</c> with an implicit <c>Scalar</c> for the 1 (<c>a − b</c> and <c>a · b</c> of two
/// tensors make none). The server runs the model on
/// one thread while request threads allocate, which is exactly that case (<c>GcStressTests</c> reproduces it: 16 of 20
/// sampled generations failed before this class). So the hot paths of generation and of the train step use these
/// helpers instead: constants are static (never collected), and a number known only at the call is held by a
/// <c>using</c> until the call has returned.
/// </summary>
public static class Scalars
{
    /// <summary>The alpha of a plain add or subtract, held for the life of the process.</summary>
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();
    public static readonly Scalar PositiveInfinity = double.PositiveInfinity.ToScalar();

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a + alpha · b</c> in place.</summary>
    public static Tensor PlusScaledInPlace(this Tensor a, Tensor b, double alpha)
    {
        using var s = alpha.ToScalar();
        return a.add_(b, s);
    }

    /// <summary><c>a · v</c>.</summary>
    public static Tensor Times(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.mul(s);
    }

    /// <summary><c>a ·= v</c> in place.</summary>
    public static Tensor TimesInPlace(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.mul_(s);
    }

    /// <summary><c>a / v</c>.</summary>
    public static Tensor DividedBy(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.div(s);
    }

    /// <summary><c>a + v</c>.</summary>
    public static Tensor PlusNumber(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.add(s, One);
    }

    /// <summary><c>max(a, v)</c> elementwise.</summary>
    public static Tensor AtLeast(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.clamp_min(s);
    }

    /// <summary><c>a &lt; v</c> elementwise.</summary>
    public static Tensor LessThan(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.lt(s);
    }

    /// <summary><c>a &gt; v</c> elementwise.</summary>
    public static Tensor GreaterThan(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.gt(s);
    }

    /// <summary><paramref name="a"/> with −∞ where <paramref name="mask"/> is true.</summary>
    public static Tensor MaskedToNegativeInfinity(this Tensor a, Tensor mask) => a.masked_fill(mask, NegativeInfinity);

    /// <summary><c>a += v</c> in place.</summary>
    public static Tensor PlusNumberInPlace(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.add_(s, One);
    }

    /// <summary><c>a += v · t1 · t2</c> in place (<c>addcmul_</c>).</summary>
    public static Tensor AddProductInPlace(this Tensor a, Tensor t1, Tensor t2, double v)
    {
        using var s = v.ToScalar();
        return a.addcmul_(t1, t2, s);
    }

    /// <summary><c>a += v · t1 / t2</c> in place (<c>addcdiv_</c>).</summary>
    public static Tensor AddQuotientInPlace(this Tensor a, Tensor t1, Tensor t2, double v)
    {
        using var s = v.ToScalar();
        return a.addcdiv_(t1, t2, s);
    }

    /// <summary><c>min(a, v)</c> elementwise.</summary>
    public static Tensor AtMost(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.clamp_max(s);
    }
}
