namespace Deepen.Training;

/// <summary>
/// A sequence-length curriculum on the same warmup machinery as the recurrence curriculum: the length
/// ramps from <see cref="Start"/> to <see cref="End"/> over <c>ceil(warmup·max_steps)</c> steps (linear or
/// 1-sqrt) and is rounded to the nearest multiple of 64. Config: <c>seq_len_schedule: [start, end, warmup, shape]</c>.
/// </summary>
public sealed class SeqLenSchedule
{
    public const int Multiple = 64;
    public int Start { get; }
    public int End { get; }
    public WsdSchedule Ramp { get; }

    private SeqLenSchedule(int start, int end, WsdSchedule ramp) { Start = start; End = end; Ramp = ramp; }

    /// <summary>Parses <c>[start, end, warmup, shape]</c>; null for an empty list (no schedule: fixed length).</summary>
    public static SeqLenSchedule? Parse(IReadOnlyList<string> spec, long maxSteps, int modelContext)
    {
        if (spec.Count == 0) return null;
        const string form = "seq_len_schedule: expected [start, end, warmup_fraction, linear|1-sqrt], e.g. [64, 256, 0.5, linear]";
        if (spec.Count != 4) throw new DeepenException($"{form}; got [{string.Join(", ", spec)}].");
        if (!int.TryParse(spec[0], out int start) || !int.TryParse(spec[1], out int end))
            throw new DeepenException($"{form}; start and end must be integers.");
        if (!double.TryParse(spec[2], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double warmup) || warmup < 0 || warmup > 1)
            throw new DeepenException($"{form}; warmup_fraction '{spec[2]}' must be a number in [0, 1].");
        var shape = RampShapes.Parse(spec[3], "seq_len_schedule shape");
        if (shape == RampShape.Cosine) throw new DeepenException($"{form}; shape '{spec[3]}' is not linear or 1-sqrt.");
        if (start < Multiple || start % Multiple != 0 || end % Multiple != 0 || end < start)
            throw new DeepenException($"seq_len_schedule: start {start} and end {end} must be multiples of {Multiple} with {Multiple} ≤ start ≤ end.");
        if (end > modelContext)
            throw new DeepenException($"seq_len_schedule: end {end} exceeds the model's context of {modelContext} positions.");
        long warmupSteps = WsdSchedule.StepsFor(warmup, maxSteps, "seq_len_schedule.warmup");
        return new SeqLenSchedule(start, end, WsdSchedule.ForTrainingSteps(maxSteps, warmupSteps, 0, shape, minLrRatio: 0.0));
    }

    /// <summary>The sequence length of optimizer step <paramref name="step"/> (0-based): non-decreasing, in [Start, End].</summary>
    public int At(long step)
    {
        double raw = Start + (End - Start) * Ramp.Factor(step);
        int rounded = (int)Math.Round(raw / Multiple, MidpointRounding.AwayFromZero) * Multiple;
        return Math.Clamp(rounded, Start, End);
    }
}
