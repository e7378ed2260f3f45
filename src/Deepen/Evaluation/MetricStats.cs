namespace Deepen.Evaluation;

/// <summary>Aggregating per-sample scores as lm-eval does (<c>mean</c> and <c>mean_stderr</c>).</summary>
public static class MetricStats
{
    /// <summary>The mean score.</summary>
    public static double Mean(IReadOnlyList<double> xs) => xs.Count == 0 ? double.NaN : xs.Average();

    /// <summary>
    /// lm-eval's <c>mean_stderr</c>: the sample standard deviation (n − 1 in the denominator) over √n.
    /// For 0/1 scores this is the binomial standard error √(p(1 − p)/(n − 1)). Null for fewer than two samples.
    /// </summary>
    public static double? MeanStderr(IReadOnlyList<double> xs)
    {
        if (xs.Count < 2) return null;
        double mu = xs.Average();
        double var = xs.Sum(x => (x - mu) * (x - mu)) / (xs.Count - 1);
        return Math.Sqrt(var / xs.Count);
    }
}
