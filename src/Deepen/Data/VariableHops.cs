namespace Deepen.Data;

/// <summary>Settings for <see cref="VariableHops.Generate"/>.</summary>
public sealed record VariableHopsOptions
{
    /// <summary>How many problems.</summary>
    public int Count { get; init; } = 1000;
    /// <summary>Hop counts; problem i gets <c>Hops[i % Hops.Count]</c>.</summary>
    public IReadOnlyList<int> Hops { get; init; } = [1, 2, 3, 4, 5, 6, 7, 8];
    public ulong Seed { get; init; }
    public ChainSplit Split { get; init; } = ChainSplit.Train;
    /// <summary>Chains in each problem: the asked one and <c>Chains − 1</c> distractors of the same length, each ending in
    /// its own digit, so a model that only picks a digit from the prompt scores 1 / Chains.</summary>
    public int Chains { get; init; } = 3;
    /// <summary>The fraction of problems shown with the look-ups written out (<c>find k:…;k=o.k&gt;o&gt;l&gt;3</c>): each written hop
    /// is the one-hop look-up as text, as <see cref="ModChainOptions.WorkedFraction"/> shows the one-step operation. 0 = all direct.</summary>
    public double WorkedFraction { get; init; }
    /// <summary>The fraction of the direct problems that, after the asked chain's answer, ask every other chain's head too, in a
    /// random order (<c>find k:…;.k?3.m?5.a?1</c>): one look-up supervised per chain instead of one per problem, the dense
    /// drill of docs/results.md E20–E21. 0 = one question a problem.</summary>
    public double AskAllFraction { get; init; }
}

/// <summary>
/// Variable look-ups several hops deep: <c>find k:r=f;l=3;t=r;f=0;o=l;k=o.k?</c> → <c>3</c>
/// (k → o → l → 3: three hops). The definitions of all chains are shuffled together, so no position gives the answer
/// away; each hop is one look-up by name whose result is the next name to look up, so one application of a shared block
/// can do one hop and more recurrence follows longer chains. A finished chain stays finished (a digit has no definition),
/// so extra iterations need not hurt. Names are distinct lowercase letters (hops · chains ≤ 26). The split is a SHA-256
/// hash of the problem's text, as for <see cref="ModChain"/>. There are no spaces: with Deepen's tokenizer every name,
/// <c>=</c>, <c>;</c> and digit is then one token (four tokens a definition), where <c>" = "</c> split into a bare space
/// token and the symbol (docs/results.md, E14–E17).
/// </summary>
public static class VariableHops
{
    /// <summary>The text just before the answer (<c>loss_on: answer</c>'s <c>answer_marker</c> for these problems).</summary>
    public const string AnswerMarker = "?";

    /// <summary>What follows the asked name in a worked problem, and separates its written hops.</summary>
    public const string WorkedMarker = ">";

    /// <summary>The text just before the asked name, in both forms: <c>answer_marker: "."</c> supervises the asked name, the
    /// written hops and the answer of every problem.</summary>
    public const string QueryMarker = ".";

    /// <summary>The most names a problem can use (the 26 lowercase letters).</summary>
    public const int Names = 26;

    /// <summary><paramref name="o"/>.Count problems of the requested split, deterministic in the options.</summary>
    public static IEnumerable<ChainProblem> Generate(VariableHopsOptions o)
    {
        if (o.Count < 0) throw new DeepenException($"hop problems: count {o.Count}; expected at least 0.");
        if (o.WorkedFraction is < 0 or > 1 || double.IsNaN(o.WorkedFraction)) throw new DeepenException($"hop problems: worked fraction {o.WorkedFraction}; expected 0..1.");
        if (o.AskAllFraction is < 0 or > 1 || double.IsNaN(o.AskAllFraction)) throw new DeepenException($"hop problems: ask-all fraction {o.AskAllFraction}; expected 0..1.");
        if (o.Chains < 1 || o.Chains > 10) throw new DeepenException($"hop problems: chains {o.Chains}; expected 1..10 (each chain ends in its own digit).");
        int maxHops = Names / o.Chains;
        if (o.Hops.Count == 0 || o.Hops.Any(k => k < 1 || k > maxHops))
            throw new DeepenException($"hop problems: hops {string.Join(",", o.Hops)}; with {o.Chains} chains every hop count must be in 1..{maxHops} (hops · chains ≤ {Names} names).");
        return GenerateValidated(o);
    }

    private static IEnumerable<ChainProblem> GenerateValidated(VariableHopsOptions o)
    {
        var rng = new SplitMix64(o.Seed);
        for (int i = 0; i < o.Count; i++)
        {
            int hops = o.Hops[i % o.Hops.Count];
            bool worked = o.WorkedFraction > 0 && rng.NextDouble() < o.WorkedFraction;
            bool askAll = !worked && o.AskAllFraction > 0 && rng.NextDouble() < o.AskAllFraction;
            ChainProblem draft;
            do draft = Draft(rng, hops, o.Chains, worked, askAll);
            while (SplitOf(draft.Canonical) != o.Split);
            yield return draft;
        }
    }

    /// <summary>A random problem of <paramref name="hops"/> hops with <paramref name="chains"/> chains (of any split), direct
    /// with the hops written out, or (<paramref name="askAll"/>) asking every chain's head after the asked one; every form of a
    /// problem has the same canonical text (the direct question), so they fall in the same split.</summary>
    public static ChainProblem Draft(SplitMix64 rng, int hops, int chains, bool worked = false, bool askAll = false)
    {
        var names = rng.Shuffle(Enumerable.Range(0, Names).Select(c => (char)('a' + c)).ToArray()).Take(hops * chains).ToArray();
        var digits = rng.Shuffle(Enumerable.Range(0, 10).ToArray()).Take(chains).ToArray();
        var defs = new List<(char Name, string Value)>();
        for (int c = 0; c < chains; c++)
        {
            var chain = names.AsSpan(c * hops, hops);                  // chain[0] = digit, chain[j] = chain[j − 1]
            defs.Add((chain[0], digits[c].ToString()));
            for (int j = 1; j < hops; j++) defs.Add((chain[j], chain[j - 1].ToString()));
        }
        var shuffledDefs = rng.Shuffle(defs.ToArray());
        char asked = names[hops - 1];                                  // the head of chain 0
        var body = string.Join(";", shuffledDefs.Select(d => $"{d.Name}={d.Value}"));
        var prefix = $"find {asked}:{body}{QueryMarker}{asked}";
        var direct = prefix + AnswerMarker;
        if (askAll)
        {
            var others = rng.Shuffle(Enumerable.Range(1, chains - 1).ToArray());      // chain c's head is names[c·hops + hops − 1]
            var more = string.Concat(others.Select(c => $"{QueryMarker}{names[c * hops + hops - 1]}{AnswerMarker}{digits[c]}"));
            return new ChainProblem(direct, digits[0] + more, hops, digits[0], direct);
        }
        if (!worked) return new ChainProblem(direct, digits[0].ToString(), hops, digits[0], direct);
        var path = names.AsSpan(0, hops).ToArray().Reverse().Skip(1).Select(n => n.ToString()).Append(digits[0].ToString());   // chain 0 from its head
        return new ChainProblem(prefix + WorkedMarker, string.Join(WorkedMarker, path), hops, digits[0], direct);
    }

    /// <summary>The split of a problem, from a SHA-256 hash of its text: a pure function.</summary>
    public static ChainSplit SplitOf(string canonical) => ModChain.SplitOfHash("deepen.variable-hops.v1:", canonical);
}
