using System.Security.Cryptography;
using System.Text;

namespace Deepen.Data;

/// <summary>One chain problem: a start digit and <see cref="Ops"/> operations applied left to right, modulo 10.</summary>
/// <param name="Question">The prompt, e.g. <c>mod 10: 7 +3 *9 -4 =</c>: the answer follows the last operation at once, so
/// a model can carry the running value from each operation to the next at a fixed distance, one step per layer.</param>
/// <param name="Answer">The continuation the model must produce: a space and one digit.</param>
/// <param name="Ops">Number of operations (the problem's difficulty: each needs the previous result).</param>
/// <param name="Result">The answer digit.</param>
/// <param name="Canonical">The arithmetic alone (<c>7+3*9-4</c>), which decides the split.</param>
public sealed record ChainProblem(string Question, string Answer, int Ops, int Result, string Canonical);

/// <summary>Which side of the partition a chain problem belongs to.</summary>
public enum ChainSplit
{
    /// <summary>Training problems (hash byte mod 10 ≥ 2: 204 of 256 hash values, about 8 in 10 chains).</summary>
    Train,
    /// <summary>Problems for choosing settings (byte mod 10 = 1: 26 of 256, about 1 in 10).</summary>
    Validation,
    /// <summary>Held-out problems for reported results only (byte mod 10 = 0: 26 of 256, about 1 in 10).</summary>
    Test,
}

/// <summary>Settings for <see cref="ModChain.Generate"/>.</summary>
public sealed record ModChainOptions
{
    /// <summary>How many problems.</summary>
    public int Count { get; init; } = 1000;
    /// <summary>Operation counts; problem i gets <c>Ops[i % Ops.Count]</c>.</summary>
    public IReadOnlyList<int> Ops { get; init; } = [1, 2, 3, 4, 5, 6, 7, 8];
    public ulong Seed { get; init; }
    public ChainSplit Split { get; init; } = ChainSplit.Train;
    /// <summary>When false, a problem may repeat (as in a training stream); when true, every problem is new.</summary>
    public bool Distinct { get; init; } = true;
    /// <summary>The fraction of problems shown with worked steps (<c>mod 10: 5 -4 +3 work: 5-4=1 1+3=4 = 4</c>): the one-step operation as text, as a base model meets arithmetic in its pretraining. 0 = all direct.</summary>
    public double WorkedFraction { get; init; }
}

/// <summary>
/// The demo's task family: a start digit, then a chain of operations <c>+d</c>, <c>-d</c> (d in 1..9) and <c>*d</c>
/// (d in 3, 7, 9: units mod 10, so no operation forgets the value so far), applied left to right modulo 10, answered
/// directly with one digit. Every operation needs the result of the one before it, so a fixed-depth model can only
/// follow chains up to some length, and the answer space is small (chance is 10 %). The split is a pure function of
/// the arithmetic (a SHA-256 hash), so train, validation and test never share a problem.
/// </summary>
public static class ModChain
{
    /// <summary>The longest chain a problem may have.</summary>
    public const int MaxOps = 32;

    private static readonly int[] Multipliers = [3, 7, 9];

    /// <summary>The text just before a direct answer (<c>loss_on: answer</c>'s <c>answer_marker</c> for these problems).</summary>
    public const string AnswerMarker = " =";

    /// <summary><paramref name="o"/>.Count problems of the requested split, deterministic in the options.</summary>
    /// <remarks>With <see cref="ModChainOptions.Distinct"/>, a chain length whose split holds fewer problems than asked for
    /// (only short chains: a 1-operation chain has 210 forms in all) stops at what exists; the others are unaffected.</remarks>
    public static IEnumerable<ChainProblem> Generate(ModChainOptions o)
    {
        if (o.Count < 0) throw new DeepenException($"chain problems: count {o.Count}; expected at least 0.");
        if (o.Ops.Count == 0 || o.Ops.Any(k => k < 1 || k > MaxOps))
            throw new DeepenException($"chain problems: ops {string.Join(",", o.Ops)}; every operation count must be in 1..{MaxOps}.");
        return GenerateValidated(o);
    }

    private static IEnumerable<ChainProblem> GenerateValidated(ModChainOptions o)
    {
        var rng = new SplitMix64(o.Seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var exhausted = new HashSet<int>();
        for (int i = 0; i < o.Count; i++)
        {
            int ops = o.Ops[i % o.Ops.Count];
            if (exhausted.Contains(ops)) continue;
            ChainProblem? accepted = null;
            bool worked = o.WorkedFraction > 0 && rng.NextDouble() < o.WorkedFraction;
            for (int attempt = 0; attempt < 2_000 && accepted is null; attempt++)
            {
                var draft = Draft(rng, ops, worked);
                if (SplitOf(draft.Canonical) == o.Split && (!o.Distinct || seen.Add(draft.Canonical))) accepted = draft;
            }
            if (accepted is null) { exhausted.Add(ops); continue; }
            yield return accepted;
        }
    }

    /// <summary>A random chain of <paramref name="ops"/> operations (of any split), direct or with worked steps.</summary>
    public static ChainProblem Draft(SplitMix64 rng, int ops, bool worked = false)
    {
        int value = rng.Next(0, 9);
        var canonical = new StringBuilder().Append(value);
        var shown = new StringBuilder("mod 10: ").Append(value);
        var work = new StringBuilder();
        for (int k = 0; k < ops; k++)
        {
            int kind = rng.Next(0, 2);
            int d = kind == 2 ? rng.Pick(Multipliers) : rng.Next(1, 9);
            char sign = kind switch { 0 => '+', 1 => '-', _ => '*' };
            int next = kind switch { 0 => (value + d) % 10, 1 => (value - d + 10) % 10, _ => value * d % 10 };
            work.Append(' ').Append(value).Append(sign).Append(d).Append('=').Append(next);
            value = next;
            canonical.Append(sign).Append(d);
            shown.Append(' ').Append(sign).Append(d);
        }
        return worked
            ? new ChainProblem(shown + " work:", work + " = " + value, ops, value, canonical.ToString())
            : new ChainProblem(shown + " =", " " + value, ops, value, canonical.ToString());
    }

    /// <summary>The split of a chain, from a SHA-256 hash of its arithmetic: a pure function.</summary>
    public static ChainSplit SplitOf(string canonical) => SplitOfHash("deepen.mod-chain.v1:", canonical);

    /// <summary>The split of any task's problem: the first byte of SHA-256(<paramref name="salt"/> + <paramref name="canonical"/>)
    /// mod 10, 0 → test, 1 → validation, else train (the fractions <see cref="ChainSplit"/> states).</summary>
    internal static ChainSplit SplitOfHash(string salt, string canonical)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(salt + canonical));
        int bucket = hash[0] % 10;
        return bucket == 0 ? ChainSplit.Test : bucket == 1 ? ChainSplit.Validation : ChainSplit.Train;
    }

    /// <summary>The problem as one training document: the prompt followed by its answer.</summary>
    public static string TrainingText(ChainProblem p) => p.Question + p.Answer;

    /// <summary>Parses a spec such as <c>1-8</c>, <c>3</c> or <c>1,2,10-12</c> into operation counts in 1..<see cref="MaxOps"/>.</summary>
    public static IReadOnlyList<int> ParseOps(string spec) => CountSpec.Parse(spec, MaxOps, "chain ops");

    /// <summary>
    /// Writes problems as JSONL lines <c>{"question", "answer", "ops", "result", "text"}</c> to a temporary file renamed to
    /// <paramref name="path"/> when complete. Returns the number written.
    /// </summary>
    public static int WriteJsonl(string path, IEnumerable<ChainProblem> problems) => JsonlFile.Write(path, problems, (w, p) =>
    {
        w.WriteString("question", p.Question);
        w.WriteString("answer", p.Answer);
        w.WriteNumber("ops", p.Ops);
        w.WriteNumber("result", p.Result);
        w.WriteString("text", TrainingText(p));
    });
}
