using Deepen.Evaluation.Stats;

namespace Deepen.Tests.Evaluation;

/// <summary>The verdict logic on constructed per-problem results: held, inconclusive and refuted, by McNemar's z.</summary>
public class PairedComparisonTests
{
    private static (bool[] A, bool[] B) Results(int n, int bothRight, int onlyA, int onlyB)
    {
        var a = new bool[n];
        var b = new bool[n];
        int i = 0;
        for (int k = 0; k < bothRight; k++, i++) (a[i], b[i]) = (true, true);
        for (int k = 0; k < onlyA; k++, i++) a[i] = true;
        for (int k = 0; k < onlyB; k++, i++) b[i] = true;
        return (a, b);
    }

    [Fact]
    public void ClearGainIsHeld()
    {
        var (a, b) = Results(1000, 200, 20, 60);       // z = 40 / √80 = 4.47
        var c = PairedComparison.Of(a, b);
        Assert.Equal(Verdict.Held, c.Verdict);
        Assert.Equal(0.04, c.Difference, 12);
        Assert.Equal(Math.Sqrt(80) / 1000, c.StandardError, 12);
        Assert.Equal(0.22, c.AccuracyA, 12);
        Assert.Equal(0.26, c.AccuracyB, 12);
    }

    [Fact]
    public void SmallGainWithinTwoStandardErrorsIsInconclusive()
    {
        var (a, b) = Results(1000, 200, 40, 52);       // z = 12 / √92 = 1.25
        Assert.Equal(Verdict.Inconclusive, PairedComparison.Of(a, b).Verdict);
    }

    [Fact]
    public void ClearLossIsRefuted()
    {
        var (a, b) = Results(1000, 200, 70, 30);       // z = −40 / 10 = −4
        var c = PairedComparison.Of(a, b);
        Assert.Equal(Verdict.Refuted, c.Verdict);
        Assert.Equal(-4.0, c.Z, 12);
    }

    [Fact]
    public void BoundaryIsStrict()
    {
        var (a, b) = Results(100, 10, 0, 4);            // z = 4 / 2 = 2 exactly: not more than 2 SE
        Assert.Equal(Verdict.Inconclusive, PairedComparison.Of(a, b).Verdict);
        (a, b) = Results(100, 10, 0, 5);                // z = 5 / √5 = 2.24
        Assert.Equal(Verdict.Held, PairedComparison.Of(a, b).Verdict);
    }

    [Fact]
    public void PairingIsTighterThanUnpairedErrorBars()
    {
        // The same accuracies (50 % vs 54 %): unpaired SEs would call it inconclusive (2 SE ≈ 4.5 points); pairing with few disagreements holds it.
        var (a, b) = Results(1000, 490, 10, 50);
        var c = PairedComparison.Of(a, b);
        double unpaired = Math.Sqrt(0.5 * 0.5 / 1000 + 0.54 * 0.46 / 1000);
        Assert.True(Math.Abs(c.Difference) <= 2 * unpaired);
        Assert.Equal(Verdict.Held, c.Verdict);
    }

    [Fact]
    public void NoDisagreementOrNoProblemsIsInconclusive()
    {
        var (a, b) = Results(50, 20, 0, 0);
        Assert.Equal(Verdict.Inconclusive, PairedComparison.Of(a, b).Verdict);
        Assert.Equal(Verdict.Inconclusive, PairedComparison.Of([], []).Verdict);
    }

    [Fact]
    public void DifferentProblemCountsAreRejected() =>
        Assert.Throws<ArgumentException>(() => PairedComparison.Of([true, false], [true]));
}
