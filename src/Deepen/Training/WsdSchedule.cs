namespace Deepen.Training;

/// <summary>The shape of a warmup or decay ramp in <see cref="WsdSchedule"/>.</summary>
public enum RampShape
{
    /// <summary>Warmup <c>u</c>; decay <c>1 − u</c>.</summary>
    Linear,
    /// <summary>Warmup <c>½(1 − cos πu)</c>; decay <c>½(1 + cos(2π·cycles·u))</c>.</summary>
    Cosine,
    /// <summary>Warmup <c>1 − √(1 − u)</c>; decay <c>1 − √u</c>. Config name <c>1-sqrt</c>.</summary>
    OneMinusSqrt,
}

/// <summary>Config names of <see cref="RampShape"/>: <c>linear</c>, <c>cosine</c>, <c>1-sqrt</c> (HF's names).</summary>
public static class RampShapes
{
    /// <summary>Parses <c>linear</c>, <c>cosine</c> or <c>1-sqrt</c>; <paramref name="what"/> names the setting in the error.</summary>
    public static RampShape Parse(string name, string what = "schedule shape") => name.Trim().ToLowerInvariant() switch
    {
        "linear" => RampShape.Linear,
        "cosine" => RampShape.Cosine,
        "1-sqrt" => RampShape.OneMinusSqrt,
        _ => throw new DeepenException($"{what}: unknown value '{name}'; expected 'linear', 'cosine' or '1-sqrt'."),
    };
}

/// <summary>
/// HuggingFace's warmup–stable–decay multiplier, exactly as transformers' <c>_get_wsd_scheduler_lambda</c>
/// (method.md [T]), evaluated in the same double-precision order so that <c>ceil</c> of a scaled value
/// flips at the same steps as in Python:
/// <code>
/// step &lt; W:          u = step / max(1, W);  f = ramp_warmup(u)·(1 − m) + m;  return max(0, f)
/// step &lt; W + S:      return 1
/// step &lt; W + S + D:  u = (step − W − S) / max(1, D);  f = ramp_decay(u)·(1 − m) + m;  return max(0, f)
/// otherwise:         return m
/// </code>
/// with <c>m = MinLrRatio</c>. Note the last branch: from step <c>W + S + D</c> on the value is <c>m</c>.
/// </summary>
public sealed record WsdSchedule(
    long WarmupSteps,
    long StableSteps,
    long DecaySteps,
    RampShape WarmupShape = RampShape.Linear,
    RampShape DecayShape = RampShape.Cosine,
    double MinLrRatio = 0.0,
    double NumCycles = 0.5)
{
    /// <summary>As HF's <c>get_wsd_schedule(num_training_steps=…)</c>: the stable phase is what remains of
    /// <paramref name="trainingSteps"/> after warmup and decay.</summary>
    public static WsdSchedule ForTrainingSteps(long trainingSteps, long warmupSteps, long decaySteps,
        RampShape warmupShape = RampShape.Linear, RampShape decayShape = RampShape.Cosine, double minLrRatio = 0.0, double numCycles = 0.5)
        => new(warmupSteps, trainingSteps - warmupSteps - decaySteps, decaySteps, warmupShape, decayShape, minLrRatio, numCycles);

    /// <summary>The multiplier at optimizer step <paramref name="step"/> (0 for the first step).</summary>
    public double Factor(long step)
    {
        double factor;
        if (step < WarmupSteps)
        {
            double progress = (double)step / Math.Max(1L, WarmupSteps);
            factor = WarmupShape switch
            {
                RampShape.Linear => progress,
                RampShape.Cosine => 0.5 * (1.0 - Math.Cos(Math.PI * progress)),
                RampShape.OneMinusSqrt => 1.0 - Math.Sqrt(1.0 - progress),
                _ => throw new ArgumentOutOfRangeException(nameof(WarmupShape), WarmupShape, null),
            };
        }
        else if (step < WarmupSteps + StableSteps) return 1.0;
        else if (step < WarmupSteps + StableSteps + DecaySteps)
        {
            double progress = (double)(step - WarmupSteps - StableSteps) / Math.Max(1L, DecaySteps);
            factor = DecayShape switch
            {
                RampShape.Linear => 1.0 - progress,
                RampShape.Cosine => 0.5 * (1.0 + Math.Cos(Math.PI * NumCycles * 2.0 * progress)),
                RampShape.OneMinusSqrt => 1.0 - Math.Sqrt(progress),
                _ => throw new ArgumentOutOfRangeException(nameof(DecayShape), DecayShape, null),
            };
        }
        else return MinLrRatio;
        return Math.Max(0.0, factor * (1.0 - MinLrRatio) + MinLrRatio);
    }

    /// <summary><c>ceil(fraction · steps)</c>, as the original code sizes warmup and decay phases;
    /// throws when the fraction is outside [0, 1].</summary>
    public static long StepsFor(double fraction, long steps, string what)
    {
        if (!(fraction >= 0.0 && fraction <= 1.0))
            throw new DeepenException($"{what}: {fraction} is not a fraction of training; expected a value in [0, 1].");
        return (long)Math.Ceiling(fraction * steps);
    }
}
