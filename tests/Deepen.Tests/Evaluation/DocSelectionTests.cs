using Deepen.Evaluation;

namespace Deepen.Tests.Evaluation;

/// <summary>--limit picks the first N, or with a seed a deterministic, nested random subset.</summary>
public class DocSelectionTests
{
    [Fact]
    public void NoLimitOrLargeLimitTakesAll()
    {
        Assert.Equal([0, 1, 2], DocSelection.Select(3, null, 7));
        Assert.Equal([0, 1, 2], DocSelection.Select(3, 10, 7));
    }

    [Fact]
    public void LimitWithoutSeedTakesTheFirst() => Assert.Equal([0, 1, 2, 3], DocSelection.Select(100, 4, null));

    [Fact]
    public void SeededSubsetMatchesIndependentSplitMix64Reference()
    {
        // Computed with Python from the same SplitMix64 + Fisher–Yates definition (see DocSelection.Select).
        Assert.Equal([0, 1, 4, 6, 9], DocSelection.Select(20, 5, 1234));
        Assert.Equal([202, 209, 483, 959, 1070, 1132, 1226, 1246], DocSelection.Select(1319, 8, 0));
    }

    [Fact]
    public void SeededSubsetsAreNestedAndSeedDependent()
    {
        var small = DocSelection.Select(1000, 10, 5);
        var large = DocSelection.Select(1000, 50, 5);
        Assert.Subset(large.ToHashSet(), small.ToHashSet());
        Assert.Equal(small.Order(), small);
        Assert.NotEqual(small, DocSelection.Select(1000, 10, 6));
    }

    [Fact]
    public void NonPositiveLimitIsAnError() =>
        Assert.Contains("limit 0", Assert.Throws<DeepenException>(() => DocSelection.Select(5, 0, null)).Message);
}
