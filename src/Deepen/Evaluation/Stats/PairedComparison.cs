namespace Deepen.Evaluation.Stats;

/// <summary>What the numbers say about a claim that one condition beats another.</summary>
public enum Verdict
{
    /// <summary>The difference is in the claimed direction by more than two standard errors.</summary>
    Held,
    /// <summary>The difference is within two standard errors of zero.</summary>
    Inconclusive,
    /// <summary>The difference is against the claim by more than two standard errors.</summary>
    Refuted,
}

/// <summary>
/// Two conditions scored on the same problems (right or wrong each), compared as McNemar's test does: only the problems
/// on which they disagree carry information. With <c>b</c> problems that only B gets right and <c>c</c> that only A gets
/// right, out of N, the difference in accuracy is (b − c) / N and its standard error under the null hypothesis of no
/// difference √(b + c) / N, so the test statistic is z = (b − c) / √(b + c). This is far tighter than two unpaired
/// error bars when the conditions agree on most problems.
/// </summary>
/// <param name="N">Problems scored under both conditions.</param>
/// <param name="OnlyB">Problems B gets right and A wrong.</param>
/// <param name="OnlyA">Problems A gets right and B wrong.</param>
/// <param name="AccuracyA">A's accuracy.</param>
/// <param name="AccuracyB">B's accuracy.</param>
public sealed record PairedComparison(int N, int OnlyB, int OnlyA, double AccuracyA, double AccuracyB)
{
    /// <summary>The number of standard errors a difference must exceed to count.</summary>
    public const double Threshold = 2.0;

    /// <summary>B's accuracy minus A's.</summary>
    public double Difference => N == 0 ? 0 : (double)(OnlyB - OnlyA) / N;

    /// <summary>The standard error of <see cref="Difference"/> under McNemar's null hypothesis, √(b + c) / N.</summary>
    public double StandardError => N == 0 ? double.NaN : Math.Sqrt(OnlyA + OnlyB) / N;

    /// <summary>McNemar's z: (b − c) / √(b + c); 0 when the two never disagree.</summary>
    public double Z => OnlyA + OnlyB == 0 ? 0 : (OnlyB - OnlyA) / Math.Sqrt(OnlyA + OnlyB);

    /// <summary>
    /// Held when B beats A by more than <see cref="Threshold"/> standard errors (z &gt; 2), refuted when A beats B by as
    /// much (z &lt; −2), inconclusive otherwise (also when there are no problems or the two never disagree).
    /// </summary>
    public Verdict Verdict => Z > Threshold ? Verdict.Held : Z < -Threshold ? Verdict.Refuted : Verdict.Inconclusive;

    /// <summary>Compares per-problem correctness of A and B on the same problems, in the same order.</summary>
    /// <exception cref="ArgumentException">The two lists have different lengths.</exception>
    public static PairedComparison Of(IReadOnlyList<bool> a, IReadOnlyList<bool> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"paired comparison: {a.Count} results for A but {b.Count} for B; expected the same problems.");
        int onlyA = 0, onlyB = 0, rightA = 0, rightB = 0;
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i]) rightA++;
            if (b[i]) rightB++;
            if (a[i] && !b[i]) onlyA++;
            if (b[i] && !a[i]) onlyB++;
        }
        double n = Math.Max(1, a.Count);
        return new PairedComparison(a.Count, onlyB, onlyA, rightA / n, rightB / n);
    }
}
