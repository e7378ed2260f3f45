namespace Deepen.Data;

/// <summary>Specs such as <c>1-8</c>, <c>3</c> or <c>1,2,10-12</c> for a list of counts (repeats allowed: <c>1,1,2</c> weights 1 twice).</summary>
public static class CountSpec
{
    /// <summary>The counts of <paramref name="spec"/>, each in 1..<paramref name="max"/>; errors start with <paramref name="what"/> (e.g. <c>--ops</c>).</summary>
    public static IReadOnlyList<int> Parse(string spec, int max, string what)
    {
        var result = new List<int>();
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-', StringSplitOptions.TrimEntries);
            if (bounds.Length is < 1 or > 2 || !bounds.All(b => int.TryParse(b, out _)))
                throw new DeepenException($"{what} '{spec}': '{part}' is not a number or a range such as 1-8.");
            int lo = int.Parse(bounds[0]), hi = int.Parse(bounds[^1]);
            if (lo < 1 || hi > max || lo > hi)
                throw new DeepenException($"{what} '{spec}': '{part}' must lie within 1-{max} with the lower bound first.");
            for (int k = lo; k <= hi; k++) result.Add(k);
        }
        if (result.Count == 0) throw new DeepenException($"{what} '{spec}' names no operation counts; expected e.g. 1-8 or 2,4,6.");
        return result;
    }
}
