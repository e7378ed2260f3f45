using System.Diagnostics;
using System.Globalization;

namespace Deepen.Evaluation;

/// <summary>
/// How far a sweep is and how long it will take: the sweep is a list of passes (a task at one recurrence of one
/// model), each with a relative cost (e.g. requests × layers run per token); the time estimate assumes the rest
/// costs what the done part cost per unit. Passes of a deep recurrence are therefore expected to be slower.
/// </summary>
public sealed class SweepProgress
{
    private readonly double[] _costs;
    private readonly double _total;
    private readonly Stopwatch _clock;
    private double _finished;

    /// <param name="passCosts">Relative cost of each pass, in run order (non-negative; zeros count as tiny).</param>
    /// <param name="clock">The running clock (a started one by default); tests pass their own.</param>
    public SweepProgress(IReadOnlyList<double> passCosts, Stopwatch? clock = null)
    {
        _costs = passCosts.Select(c => Math.Max(c, 1e-9)).ToArray();
        _total = _costs.Sum();
        _clock = clock ?? Stopwatch.StartNew();
    }

    /// <summary>Passes in the sweep.</summary>
    public int Passes => _costs.Length;

    /// <summary>The pass now running (0-based).</summary>
    public int Current { get; private set; }

    /// <summary>Marks <paramref name="pass"/> as the running pass; earlier passes count as done.</summary>
    public void Begin(int pass)
    {
        if (pass < 0 || pass >= _costs.Length) throw new ArgumentOutOfRangeException(nameof(pass), $"pass {pass} of {_costs.Length}");
        Current = pass;
        _finished = _costs.Take(pass).Sum();
    }

    /// <summary>The fraction of the whole sweep done when the current pass has done <paramref name="done"/> of <paramref name="total"/>.</summary>
    public double Fraction(int done, int total) =>
        _total <= 0 ? 1 : Math.Clamp((_finished + _costs[Current] * (total <= 0 ? 1 : (double)done / total)) / _total, 0, 1);

    /// <summary>Seconds left by the cost-weighted rate so far, or null before anything is done.</summary>
    public double? EtaSeconds(int done, int total)
    {
        double f = Fraction(done, total);
        return f <= 0 ? null : _clock.Elapsed.TotalSeconds * (1 - f) / f;
    }

    /// <summary>"pass 3/12, 41%, 12s elapsed, ETA 17s" for the current pass at <paramref name="done"/> of <paramref name="total"/>.</summary>
    public string Describe(int done, int total)
    {
        var eta = EtaSeconds(done, total);
        return string.Create(CultureInfo.InvariantCulture,
            $"pass {Current + 1}/{Passes}, {100 * Fraction(done, total):F0}%, {Duration(_clock.Elapsed.TotalSeconds)} elapsed, ETA {(eta is { } s ? Duration(s) : "?")}");
    }

    /// <summary>A duration as <c>42s</c>, <c>3m05s</c> or <c>2h07m</c>.</summary>
    public static string Duration(double seconds)
    {
        long s = (long)Math.Round(Math.Max(0, seconds));
        return s < 60 ? $"{s}s" : s < 3600 ? $"{s / 60}m{s % 60:D2}s" : $"{s / 3600}h{s / 60 % 60:D2}m";
    }
}
