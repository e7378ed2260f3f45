namespace Deepen.Data;

/// <summary>
/// Seeded permutations that are the same on every platform and .NET version (System.Random's streams
/// are not promised to be): SplitMix64 as the generator, unbiased bounded draws by rejection, and a
/// Fisher–Yates shuffle from the last index down. docs/formats/token-shards.md spells the algorithm
/// out so another language can reproduce it.
/// </summary>
public static class DeterministicShuffle
{
    /// <summary>A permutation of 0..n-1 determined by <paramref name="seed"/>.</summary>
    public static int[] Permutation(long n, long seed)
    {
        if (n < 0 || n > Array.MaxLength) throw new DeepenException($"cannot shuffle {n} rows (at most {Array.MaxLength}).");
        var perm = new int[n];
        for (int i = 0; i < perm.Length; i++) perm[i] = i;
        var rng = new SplitMix64(unchecked((ulong)seed));
        for (int i = perm.Length - 1; i > 0; i--)
        {
            int j = (int)NextBelow(rng, (ulong)i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        return perm;
    }

    /// <summary>Uniform in [0, bound): draws below 2^64 mod bound are rejected, then the remainder is taken.</summary>
    private static ulong NextBelow(SplitMix64 rng, ulong bound)
    {
        ulong threshold = (0UL - bound) % bound;
        while (true)
        {
            ulong r = rng.NextUInt64();
            if (r >= threshold) return r % bound;
        }
    }
}
