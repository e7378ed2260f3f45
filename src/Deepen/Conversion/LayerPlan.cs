using Deepen.Modeling;

namespace Deepen.Conversion;

/// <summary>
/// Which source layers become the prelude, the recurrent core and the coda; the layers not named are
/// dropped. Indices are strictly increasing from the prelude through the core to the coda.
/// </summary>
public sealed record LayerPlan(IReadOnlyList<int> Prelude, IReadOnlyList<int> Core, IReadOnlyList<int> Coda)
{
    public IEnumerable<int> All => Prelude.Concat(Core).Concat(Coda);

    /// <summary>
    /// The paper's rule for <c>--shape P,R,C</c> (method.md §2.1): the first P layers are the prelude, the
    /// R layers just before the last C are the core, the last C are the coda; the layers between are dropped.
    /// </summary>
    public static LayerPlan FromShape(int p, int r, int c, int sourceLayers)
    {
        if (p < 0 || r < 1 || c < 0)
            throw DeepenException.BadSetting("shape", $"{p},{r},{c}: expected P ≥ 0, R ≥ 1, C ≥ 0.");
        if (p + r + c > sourceLayers)
            throw DeepenException.BadSetting("shape", $"{p},{r},{c} needs {p + r + c} layers but the source model has {sourceLayers}.");
        return new LayerPlan(
            Enumerable.Range(0, p).ToArray(),
            Enumerable.Range(sourceLayers - c - r, r).ToArray(),
            Enumerable.Range(sourceLayers - c, c).ToArray()).Validated(sourceLayers);
    }

    /// <summary>Parses <c>--shape</c> text "P,R,C".</summary>
    public static LayerPlan ParseShape(string text, int sourceLayers)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3 || !parts.All(s => int.TryParse(s, out _)))
            throw DeepenException.BadSetting("shape", $"'{text}': expected three integers P,R,C such as 4,8,4.");
        var v = parts.Select(int.Parse).ToArray();
        return FromShape(v[0], v[1], v[2], sourceLayers);
    }

    /// <summary>
    /// Parses <c>--layers</c> text: three parts separated by ':' (prelude, core, coda), each a comma list of
    /// indices and inclusive ranges <c>a-b</c>, e.g. <c>0-3:10-17:18-21</c> or <c>0,1:2,5,8,11:14,15</c>.
    /// </summary>
    public static LayerPlan Parse(string text, int sourceLayers)
    {
        var parts = text.Split(':');
        if (parts.Length != 3)
            throw DeepenException.BadSetting("layers", $"'{text}': expected three parts prelude:core:coda, e.g. 0-3:10-17:18-21.");
        return new LayerPlan(ParsePart(parts[0], text), ParsePart(parts[1], text), ParsePart(parts[2], text)).Validated(sourceLayers);
    }

    private static int[] ParsePart(string part, string whole)
    {
        var result = new List<int>();
        foreach (var item in part.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ends = item.Split('-');
            if (ends.Length > 2 || !ends.All(e => int.TryParse(e, out var v) && v >= 0))
                throw DeepenException.BadSetting("layers", $"'{whole}': '{item}' is not a layer index or a range a-b of non-negative integers.");
            int a = int.Parse(ends[0]), b = int.Parse(ends[^1]);
            if (b < a) throw DeepenException.BadSetting("layers", $"'{whole}': range '{item}' runs backwards.");
            for (int i = a; i <= b; i++) result.Add(i);
        }
        return result.ToArray();
    }

    /// <summary>
    /// Picks R core layers <paramref name="stride"/> apart ending just before the coda (<c>--core-stride</c>);
    /// the prelude is the first P layers, the coda the last C.
    /// </summary>
    public static LayerPlan FromStride(int p, int r, int c, int stride, int sourceLayers)
    {
        if (stride < 1) throw DeepenException.BadSetting("core_stride", $"{stride}: expected a positive integer.");
        int last = sourceLayers - c - 1;
        var core = Enumerable.Range(0, r).Select(i => last - (r - 1 - i) * stride).ToArray();
        if (core[0] < p)
            throw DeepenException.BadSetting("core_stride", $"{stride} with `shape` {p},{r},{c}: the core would start at layer {core[0]}, inside the prelude (0–{p - 1}) or before layer 0; the source has {sourceLayers} layers.");
        return new LayerPlan(Enumerable.Range(0, p).ToArray(), core, Enumerable.Range(sourceLayers - c, c).ToArray()).Validated(sourceLayers);
    }

    public LayerPlan Validated(int sourceLayers)
    {
        if (Core.Count == 0) throw new DeepenException($"layer plan {this}: the core needs at least one layer.");
        foreach (var i in All)
            if (i < 0 || i >= sourceLayers)
                throw new DeepenException($"layer plan {this}: layer {i} is out of range; the source model has layers 0–{sourceLayers - 1}.");
        var all = All.ToArray();
        var dup = all.GroupBy(i => i).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new DeepenException($"layer plan {this}: layer {dup.Key} is used more than once (parts overlap).");
        for (int k = 1; k < all.Length; k++)
            if (all[k] <= all[k - 1])
                throw new DeepenException($"layer plan {this}: layers must increase from prelude through core to coda; {all[k]} comes after {all[k - 1]}.");
        return this;
    }

    public IEnumerable<int> Dropped(int sourceLayers) => Enumerable.Range(0, sourceLayers).Except(All);

    public LayerPlanRecord ToRecord() => new(Prelude, Core, Coda);

    public override string ToString() => $"{Format(Prelude)}:{Format(Core)}:{Format(Coda)}";

    /// <summary>Compact form: consecutive runs as a-b, e.g. [0,1,2,3,5] → "0-3,5".</summary>
    public static string Format(IReadOnlyList<int> layers)
    {
        if (layers.Count == 0) return "";
        var runs = new List<string>();
        int start = layers[0], prev = layers[0];
        foreach (var i in layers.Skip(1).Append(int.MinValue))
        {
            if (i == prev + 1) { prev = i; continue; }
            runs.Add(start == prev ? $"{start}" : $"{start}-{prev}");
            start = prev = i;
        }
        return string.Join(",", runs);
    }
}
