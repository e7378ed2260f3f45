namespace Deepen.Training;

/// <summary>
/// The backprop-depth curriculum of method.md §5.2 (an ablation; off by default), as [R] builds it: HF WSD
/// on a dummy learning rate <c>maxDepth</c> (8) with linear warmup over <c>ceil(warmupFrac·T)</c> steps, no
/// decay and <c>min_lr_ratio = clamp(max(1, start − 1) / maxDepth, 0, 1)</c>, stepped once at
/// construction, so optimizer step <c>i</c> (0-based) uses <c>s(i) = ceil(maxDepth · f(i + 1))</c>.
/// The sampler then clamps s to the mean recurrence. <see cref="Constant"/> is "off" (the config's
/// <c>mean_backprop_depth</c>, 8).
/// <para>Faithful quirk: because of the extra initial step, the last step of a T-step run (i = T − 1) sees
/// HF's after-the-end value <c>min_lr_ratio</c>, i.e. <c>s = ceil(maxDepth · min_lr_ratio)</c>.</para>
/// </summary>
public sealed class BackpropDepthCurriculum
{
    /// <summary>The maximum backprop depth.</summary>
    public int MaxDepth { get; }

    /// <summary>The schedule, or null for a constant depth.</summary>
    public WsdSchedule? Schedule { get; }

    private BackpropDepthCurriculum(int maxDepth, WsdSchedule? schedule)
    {
        if (maxDepth < 1) throw new DeepenException($"max_backprop: {maxDepth} must be ≥ 1.");
        MaxDepth = maxDepth;
        Schedule = schedule;
    }

    /// <summary>No curriculum: depth <paramref name="depth"/> at every step.</summary>
    public static BackpropDepthCurriculum Constant(int depth) => new(depth, null);

    /// <summary>The [R] ramp from about <paramref name="start"/> to <paramref name="maxDepth"/>.</summary>
    public static BackpropDepthCurriculum Ramp(int maxDepth, int start, long maxSteps, double warmupFrac)
    {
        if (maxSteps < 1) throw new DeepenException($"max_steps: {maxSteps} must be ≥ 1.");
        long warmup = WsdSchedule.StepsFor(warmupFrac, maxSteps, "mean_backprop_depth_schedule.warmup");
        double startValue = Math.Max(1.0, start - 1);   // "start at one below" as [R] does
        double minRatio = Math.Max(0.0, Math.Min(1.0, startValue / maxDepth));
        return new(maxDepth, WsdSchedule.ForTrainingSteps(maxSteps, warmup, decaySteps: 0, minLrRatio: minRatio));
    }

    /// <summary>The backprop depth s for optimizer step <paramref name="step"/> (0-based).</summary>
    public int At(long step) => Schedule is null ? MaxDepth : (int)Math.Ceiling(MaxDepth * Schedule.Factor(step + 1));
}
