namespace Deepen.Data;

/// <summary>
/// A tiny seeded random generator (SplitMix64) whose sequence is fixed by its seed on every platform and
/// .NET version, unlike <see cref="System.Random"/>; the data generators use it so that a seed reproduces a file.
/// </summary>
public sealed class SplitMix64
{
    private ulong _state;

    /// <summary>A generator whose whole sequence is determined by <paramref name="seed"/>.</summary>
    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform integer in [<paramref name="minInclusive"/>, <paramref name="maxInclusive"/>].</summary>
    public int Next(int minInclusive, int maxInclusive)
    {
        if (maxInclusive < minInclusive) throw new ArgumentOutOfRangeException(nameof(maxInclusive), $"empty range [{minInclusive}, {maxInclusive}]");
        ulong span = (ulong)((long)maxInclusive - minInclusive + 1);
        // Rejection sampling removes the modulo bias.
        ulong limit = ulong.MaxValue - ulong.MaxValue % span;
        ulong x;
        do x = NextUInt64(); while (x >= limit);
        return (int)((long)minInclusive + (long)(x % span));
    }

    /// <summary>A uniform double in [0, 1) from the top 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>One element of <paramref name="items"/>, uniformly.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(0, items.Count - 1)];

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates from the last index down) and returns it.</summary>
    public T[] Shuffle<T>(T[] items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Next(0, i);
            (items[i], items[j]) = (items[j], items[i]);
        }
        return items;
    }

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => (NextUInt64() >> 11) * (1.0 / (1UL << 53)) < p;
}
