using Deepen.Data;

namespace Deepen.Evaluation;

/// <summary>Which documents of a task to evaluate under <c>--limit</c>.</summary>
public static class DocSelection
{
    /// <summary>
    /// Indices of the documents to evaluate, ascending. No limit: all. A limit without a seed: the first
    /// <paramref name="limit"/> (lm-eval's <c>--limit</c>). A limit with a seed: the first
    /// <paramref name="limit"/> of a seeded Fisher–Yates permutation (SplitMix64; the same on every
    /// platform and .NET version), so a smaller limit with the same seed picks a subset of a larger one.
    /// </summary>
    public static int[] Select(int count, int? limit, int? seed)
    {
        if (limit is < 1) throw DeepenException.BadSetting("limit", $"{limit}: expected a positive number of documents.");
        if (limit is null || limit >= count) return Enumerable.Range(0, count).ToArray();
        if (seed is null) return Enumerable.Range(0, limit.Value).ToArray();
        var perm = Enumerable.Range(0, count).ToArray();
        var rng = new SplitMix64(unchecked((ulong)seed.Value));
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)(rng.NextUInt64() % (ulong)(i + 1));
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        var chosen = perm[..limit.Value];
        Array.Sort(chosen);
        return chosen;
    }
}
