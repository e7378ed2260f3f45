using System.Globalization;
using Deepen.Modeling;

namespace Deepen.Models;

/// <summary>What an adaptive exit compares between consecutive iterations.</summary>
public enum ExitKind
{
    /// <summary>KL(p_{t−1} ‖ p_t) of the next-token distributions (Huginn's <c>kl</c>, default 5e-4); runs the coda after every iteration.</summary>
    Kl,
    /// <summary>‖s_t − s_{t−1}‖ / ‖s_t‖ of the latent state (Huginn's <c>latent-diff</c>, default 0.03); needs no extra coda runs.</summary>
    LatentDiff,
}

/// <summary>
/// Adaptive depth per token: stop iterating a step once the change between consecutive iterations falls below
/// <see cref="Threshold"/> (measured at the step's last position, from the second iteration on).
/// </summary>
public sealed record ExitCriterion(ExitKind Kind, double Threshold)
{
    /// <summary>Parses <c>kl:5e-4</c>, <c>latent:0.03</c> (also <c>latent-diff:</c>), or a bare <c>kl</c> / <c>latent</c> with Huginn's default threshold.</summary>
    /// <exception cref="DeepenException">Unknown kind or a threshold that is not a positive number.</exception>
    public static ExitCriterion Parse(string text)
    {
        var parts = text.Split(':', 2, StringSplitOptions.TrimEntries);
        var kind = parts[0].ToLowerInvariant() switch
        {
            "kl" => ExitKind.Kl,
            "latent" or "latent-diff" => ExitKind.LatentDiff,
            _ => throw DeepenException.BadSetting("adaptive", $"'{text}': unknown criterion '{parts[0]}'; expected kl:THRESHOLD or latent:THRESHOLD (e.g. kl:5e-4)."),
        };
        double threshold = kind == ExitKind.Kl ? 5e-4 : 0.03;
        if (parts.Length == 2 && (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out threshold)
                                  || !(threshold > 0) || double.IsInfinity(threshold)))
            throw DeepenException.BadSetting("adaptive", $"'{text}': threshold '{parts[1]}' is not a positive number.");
        return new ExitCriterion(kind, threshold);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Kind == ExitKind.Kl ? "kl" : "latent")}:{Threshold.ToString("G", CultureInfo.InvariantCulture)}";
}

/// <summary>
/// How deep a recurrent model runs while generating. Every step (the prompt's prefill and each new token) runs
/// the same <see cref="Recurrence"/> iterations (method.md §8), or, with <see cref="Exit"/>, as many as the
/// criterion asks for, up to <see cref="Recurrence"/>. Plain models ignore it.
/// </summary>
public sealed record DepthOptions
{
    /// <summary>Iterations per step (with <see cref="Exit"/>: the maximum); null = the model's <c>mean_recurrence</c>.</summary>
    public int? Recurrence { get; init; }

    /// <summary>Adaptive exit, or null for a fixed depth.</summary>
    public ExitCriterion? Exit { get; init; }

    /// <summary>
    /// The initial state of each step's new tokens: fresh truncated-normal noise per token (the method's default,
    /// reproducible with the generation seed) or zeros.
    /// </summary>
    public StateInit InitialState { get; init; } = StateInit.Random;

    /// <summary>A fixed depth of <paramref name="r"/> iterations.</summary>
    public static DepthOptions Fixed(int r, StateInit state = StateInit.Random) => new() { Recurrence = r, InitialState = state };

    /// <summary>Adaptive exit with at most <paramref name="maxRecurrence"/> iterations.</summary>
    public static DepthOptions Adaptive(ExitCriterion exit, int maxRecurrence, StateInit state = StateInit.Random) =>
        new() { Recurrence = maxRecurrence, Exit = exit, InitialState = state };

    /// <summary>Throws a <see cref="DeepenException"/> for a recurrence below 1.</summary>
    public void Validate()
    {
        if (Recurrence is < 1)
            throw DeepenException.BadSetting(Exit is null ? "recurrence" : "max_recurrence", $"{Recurrence}: expected a positive integer.");
    }
}
