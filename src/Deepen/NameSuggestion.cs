namespace Deepen;

/// <summary>"Did you mean …?" for mistyped keys and flags: the valid name nearest by edit distance.</summary>
public static class NameSuggestion
{
    /// <summary>
    /// The candidate nearest to <paramref name="name"/>: a candidate that starts with it (the shortest such)
    /// wins, otherwise the one with the smallest Levenshtein distance (ties: the earlier candidate). Returns
    /// null when even the nearest differs in more than about half of the name's characters.
    /// </summary>
    public static string? Nearest(string name, IEnumerable<string> candidates)
    {
        var list = candidates.ToList();
        if (name.Length > 0)
        {
            var prefixed = list.Where(c => c.Length > name.Length && c.StartsWith(name, StringComparison.OrdinalIgnoreCase))
                               .OrderBy(c => c.Length).FirstOrDefault();
            if (prefixed is not null) return prefixed;
        }
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in list)
        {
            int d = Distance(name.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        return best is not null && bestDistance <= Math.Max(2, (name.Length + 1) / 2) ? best : null;
    }

    /// <summary>Levenshtein distance: single-character insertions, deletions and substitutions.</summary>
    public static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
