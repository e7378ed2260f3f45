namespace Deepen.Training;

/// <summary>
/// The learning-rate multiplier of method.md §6.2: HF warmup–stable–decay with
/// <c>ceil(warmupFrac·T)</c> warmup steps (linear by default, from <c>minLrRatio</c> up to 1), a constant
/// phase, and <c>ceil(cooldownFrac·T)</c> decay steps (cosine by default) down to <c>minLrRatio</c> (0.001).
/// The same multiplier scales every parameter group (Muon and Adam).
/// </summary>
public sealed class LrSchedule
{
    /// <summary>The underlying WSD schedule.</summary>
    public WsdSchedule Wsd { get; }

    public LrSchedule(long maxSteps, double warmupFrac, double cooldownFrac, double minLrRatio = 0.001)
    {
        if (maxSteps < 1) throw new DeepenException($"max_steps: {maxSteps} must be ≥ 1.");
        if (!(minLrRatio >= 0.0 && minLrRatio <= 1.0)) throw new DeepenException($"min_lr_ratio: {minLrRatio} must be in [0, 1].");
        long warmup = WsdSchedule.StepsFor(warmupFrac, maxSteps, "warmup");
        long decay = WsdSchedule.StepsFor(cooldownFrac, maxSteps, "cooldown");
        if (warmupFrac + cooldownFrac > 1.0)
            throw new DeepenException($"warmup ({warmupFrac}) + cooldown ({cooldownFrac}) exceed the whole training run; expected a sum ≤ 1.");
        Wsd = WsdSchedule.ForTrainingSteps(maxSteps, warmup, decay, minLrRatio: minLrRatio);
    }

    /// <summary>The multiplier for optimizer step <paramref name="step"/> (0-based); the learning rate of a
    /// group is its base rate times this.</summary>
    public double Multiplier(long step) => Wsd.Factor(step);
}
