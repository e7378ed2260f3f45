namespace Deepen.Training;

/// <summary>
/// The mean-recurrence curriculum of method.md §5.1: HF WSD on a dummy learning rate equal to the
/// target, <c>ceil(warmupFrac·T)</c> warmup steps of shape <c>linear</c> or <c>1-sqrt</c> (HF also allows
/// <c>cosine</c>), no decay, <c>min_lr_ratio = 0</c>. The mean used for every micro-batch of optimizer step
/// <c>i</c> (0-based) is <c>r̄(i) = ceil(target · f(i))</c>, and 1 when that is ≤ 0 (so training starts at 1).
/// <see cref="Constant"/> is the curriculum "none": the target from step 0.
/// <para>Faithful quirk: HF's lambda returns <c>min_lr_ratio = 0</c> from step T on, so <see cref="At"/> is 1
/// for steps ≥ T; a run of T steps never uses those.</para>
/// </summary>
public sealed class MeanRecurrenceCurriculum
{
    /// <summary>The target (maximum) mean recurrence.</summary>
    public int Target { get; }

    /// <summary>The schedule, or null for a constant mean.</summary>
    public WsdSchedule? Schedule { get; }

    private MeanRecurrenceCurriculum(int target, WsdSchedule? schedule)
    {
        if (target < 1) throw new DeepenException($"max_mean_rec: {target} must be ≥ 1.");
        Target = target;
        Schedule = schedule;
    }

    /// <summary>No curriculum: the mean is <paramref name="target"/> at every step.</summary>
    public static MeanRecurrenceCurriculum Constant(int target) => new(target, null);

    /// <summary>A ramp from 1 to <paramref name="target"/> over <c>ceil(warmupFrac·maxSteps)</c> steps.</summary>
    public static MeanRecurrenceCurriculum Ramp(int target, long maxSteps, double warmupFrac, RampShape shape)
    {
        if (maxSteps < 1) throw new DeepenException($"max_steps: {maxSteps} must be ≥ 1.");
        long warmup = WsdSchedule.StepsFor(warmupFrac, maxSteps, "mean_recurrence_schedule.warmup");
        return new(target, WsdSchedule.ForTrainingSteps(maxSteps, warmup, decaySteps: 0, warmupShape: shape, minLrRatio: 0.0));
    }

    /// <summary>The mean recurrence r̄ for optimizer step <paramref name="step"/> (0-based).</summary>
    public int At(long step)
    {
        if (Schedule is null) return Target;
        int r = (int)Math.Ceiling(Target * Schedule.Factor(step));   // HF: base_lr * lambda(step)
        return r <= 0 ? 1 : r;
    }
}
