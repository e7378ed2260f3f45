using static TorchSharp.torch;

namespace Deepen.Models;

/// <summary>
/// One micro-batch's recurrence: <see cref="NoGrad"/> iterations run without gradient first, then
/// <see cref="Grad"/> iterations with gradient (truncated backprop).
/// </summary>
public sealed record RecurrenceDraw(int NoGrad, int Grad)
{
    /// <summary>Total number of core iterations, <c>p = n + k ≥ 1</c>.</summary>
    public int Total => NoGrad + Grad;
}

/// <summary>
/// The Poisson–log-normal recurrence sampler of method.md §4 ([R] <c>train.py::num_steps_sampler</c>):
/// <c>s = min(s, r̄)</c>, <c>t = max(r̄ − s, 0)</c>, <c>σ = 0.5</c>, <c>μ = ln(t + s) − σ²/2</c>,
/// <c>λ ~ LogNormal(μ, σ)</c>, <c>p = Poisson(λ) + 1</c>, <c>n = max(p − s, 0)</c>, <c>k = min(s, p)</c>.
/// <para>
/// Both draws come from one CPU <c>torch.Generator</c> seeded with <c>(514229 + dataStep) mod (2³¹ − 1)</c>,
/// so a draw depends only on its micro-batch index: every rank draws the same value and a resumed run
/// continues the same sequence. The original code numbers micro-batches from 1
/// (<c>enumerate(dataloader, start=1)</c>); pass that 1-based global micro-batch index to reproduce its draws.
/// The draws equal Debian PyTorch 1.13's bit for bit (tests/fixtures/training/recurrence_draws.json).
/// </para>
/// </summary>
public static class RecurrenceSampler
{
    /// <summary>Added to the micro-batch index to form the generator seed.</summary>
    public const long SeedOffset = 514229;

    /// <summary>Standard deviation of the log-normal rate.</summary>
    public const double Sigma = 0.5;

    /// <summary>The generator seed for a micro-batch: <c>(514229 + dataStep) mod (2³¹ − 1)</c>.</summary>
    public static ulong Seed(long dataStep)
    {
        if (dataStep < 0) throw new ArgumentOutOfRangeException(nameof(dataStep), dataStep, "the micro-batch index must be ≥ 0");
        return (ulong)((SeedOffset + dataStep) % int.MaxValue);
    }

    /// <summary>Draws <c>(n, k)</c> for one micro-batch at mean recurrence <paramref name="meanRecurrence"/> (r̄ ≥ 1)
    /// and backprop depth <paramref name="backpropDepth"/> (s ≥ 1; clamped to r̄).</summary>
    public static RecurrenceDraw Draw(int meanRecurrence, int backpropDepth, long dataStep)
    {
        if (backpropDepth < 1) throw new ArgumentOutOfRangeException(nameof(backpropDepth), backpropDepth, "the backprop depth must be ≥ 1");
        int s = Math.Min(backpropDepth, meanRecurrence);
        int p = SampleTotal(meanRecurrence, dataStep).Total;
        return new RecurrenceDraw(NoGrad: Math.Max(p - s, 0), Grad: Math.Min(s, p));
    }

    /// <summary>
    /// The log-normal rate λ (float32, as drawn) and the total <c>p = Poisson(λ) + 1</c>. The mean of λ is
    /// <c>t + s = r̄</c> for every backprop depth, so the total does not depend on s.
    /// </summary>
    public static (float Rate, int Total) SampleTotal(int meanRecurrence, long dataStep)
    {
        if (meanRecurrence < 1) throw new ArgumentOutOfRangeException(nameof(meanRecurrence), meanRecurrence, "the mean recurrence must be ≥ 1");
        double mu = Math.Log(meanRecurrence) - Sigma * Sigma / 2;   // ln(t + s) with t + s = r̄
        using var generator = new Generator(Seed(dataStep), CPU);
        using var scope = NewDisposeScope();
        var rate = zeros(1, dtype: ScalarType.Float32, device: CPU).log_normal_(mu, Sigma, generator);   // (1,)
        var count = poisson(rate, generator);                                                            // (1,)
        return (rate.item<float>(), checked((int)count.item<float>() + 1));
    }
}
