using System.Security.Cryptography;
using System.Text;

namespace Deepen.Data;

/// <summary>
/// Generated grade-school word problems with exact integer answers and a chosen number of sequential
/// operations (+, −, ×, exact ÷; every value stays in [1, MaxValue]), written as GSM8K-format JSONL.
/// The split is decided by a hash of the problem's arithmetic alone (<see cref="MathProblem.Canonical"/>),
/// and generation rejects problems of the other split, so train and test never share a problem, not even
/// one told with different names or objects.
/// </summary>
public static class SyntheticMath
{
    /// <summary>The most operations a problem may have.</summary>
    public const int MaxOps = 8;

    private const int MaxAttemptsPerProblem = 10_000;

    private static readonly string[] LaterLeads = ["{S}", "Then {s}", "Next, {s}", "After that, {s}"];

    /// <summary>
    /// <paramref name="options"/>.Count distinct problems of the requested split, deterministic in the options.
    /// Throws <see cref="DeepenException"/> for invalid options or when no new distinct problem can be found.
    /// </summary>
    public static IEnumerable<MathProblem> Generate(SyntheticMathOptions options)
    {
        Validate(options);
        return GenerateValidated(options);
    }

    private static IEnumerable<MathProblem> GenerateValidated(SyntheticMathOptions options)
    {
        var rng = new SplitMix64(options.Seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Count; i++)
        {
            int ops = options.Ops[i % options.Ops.Count];
            MathProblem? accepted = null;
            for (int attempt = 0; attempt < MaxAttemptsPerProblem && accepted is null; attempt++)
            {
                var draft = Draft(rng, ops, options);
                if (SplitOf(draft.Canonical) == options.Split && seen.Add(draft.Question)) accepted = draft;
            }
            yield return accepted ?? throw new DeepenException(
                $"synthetic math: found no new distinct {ops}-operation problem for the {options.Split.ToString().ToLowerInvariant()} split " +
                $"after {MaxAttemptsPerProblem} tries ({i} generated); ask for fewer problems (`count`) or more operations (`ops`).");
        }
    }

    /// <summary>
    /// The split a problem belongs to, from a SHA-256 hash of its canonical arithmetic: a pure function, so
    /// no problem can be generated for both splits.
    /// </summary>
    public static MathSplit SplitOf(string canonical)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("deepen.synth-math.v1:" + canonical));
        return (hash[0] & 1) == 0 ? MathSplit.Train : MathSplit.Test;
    }

    /// <summary>Parses an operations spec such as <c>1-8</c>, <c>3</c> or <c>1,2,4-6</c> into a list of counts in 1..8.</summary>
    public static IReadOnlyList<int> ParseOps(string spec) => CountSpec.Parse(spec, MaxOps, "--ops");

    /// <summary>
    /// The problem as one training document in the plain GSM8K layout that the <c>gsm8k</c> eval task
    /// prompts with: <c>Question: {question}\nAnswer: {answer}</c>.
    /// </summary>
    public static string TrainingText(MathProblem p) => $"Question: {p.Question}\nAnswer: {p.Answer}";

    /// <summary>
    /// Writes problems as JSONL lines <c>{"question": ..., "answer": ..., "ops": k, "text": ...}</c> (text: <see cref="TrainingText"/>) to a temporary file,
    /// renamed to <paramref name="path"/> when complete. Returns the number written.
    /// </summary>
    public static int WriteJsonl(string path, IEnumerable<MathProblem> problems) => JsonlFile.Write(path, problems, (w, p) =>
    {
        w.WriteString("question", p.Question);
        w.WriteString("answer", p.Answer);
        w.WriteNumber("ops", p.Ops);
        w.WriteString("text", TrainingText(p));
    });

    private static void Validate(SyntheticMathOptions o)
    {
        if (o.Count < 0) throw DeepenException.BadSetting("count", $"{o.Count}: expected a count of at least 0.");
        if (o.Ops.Count == 0 || o.Ops.Any(k => k < 1 || k > MaxOps))
            throw DeepenException.BadSetting("ops", $"{string.Join(",", o.Ops)}: every operation count must be in 1..{MaxOps}.");
        if (o.MaxValue < 100) throw new DeepenException($"max value {o.MaxValue}: expected at least 100.");
    }

    /// <summary>One candidate problem with <paramref name="ops"/> operations (not yet checked for split or duplicates).</summary>
    private static MathProblem Draft(SplitMix64 rng, int ops, SyntheticMathOptions options)
    {
        var story = rng.Pick(MathStoryTemplates.All);
        var (name, female) = rng.Pick(MathStoryTemplates.Names);
        var (one, many) = rng.Pick(story.Objects);
        string he = female ? "she" : "he", his = female ? "her" : "his";
        string subjectCap = story.Subject ?? Capitalize(he), subjectLower = story.Subject is null ? he : Lower(story.Subject);

        string Fill(string s, int n = 0, long v = 0) => s
            .Replace("{who}", story.Who).Replace("{Name}", name)
            .Replace("{his}", story.PersonSubject ? his : story.Its)
            .Replace("{S}", subjectCap).Replace("{s}", subjectLower)
            .Replace("{objs}", many).Replace("{v}", v.ToString())
            .Replace("{times}", n == 2 ? "twice" : $"{n} times")
            .Replace("{frac}", n >= 2 && n <= 10 ? MathStoryTemplates.Fraction(n) : "")
            .Replace("{others}", n == 2 ? "a friend" : $"{n - 1} friends")
            .Replace("{n}", n.ToString());

        long start = rng.Next(2, 60), value = start;
        var canonical = new StringBuilder().Append(start);
        var fragments = new List<string>(ops);
        var steps = new List<string>(ops);
        for (int i = 0; i < ops; i++)
        {
            var (op, n) = ChooseOperation(rng, value, options.MaxValue);
            long next = op switch
            {
                MathOp.Add => value + n,
                MathOp.Subtract => value - n,
                MathOp.Multiply => value * n,
                _ => value / n,
            };
            char sym = op switch { MathOp.Add => '+', MathOp.Subtract => '-', MathOp.Multiply => '*', _ => '/' };
            var phrase = rng.Pick(story.Phrases(op));
            fragments.Add(Fill(phrase.Question, n));
            steps.Add($"{Fill(phrase.Step, n)} {value} {sym} {n} = <<{value}{sym}{n}={next}>>{next} {(next == 1 ? one : many)}.");
            canonical.Append(sym).Append(n);
            value = next;
        }

        var question = new StringBuilder(Fill(rng.Pick(story.Intros), v: start));
        for (int i = 0; i < fragments.Count; i++)
        {
            string lead = i == 0 ? "{S}" : rng.Pick(LaterLeads);
            question.Append(' ').Append(Fill(lead)).Append(' ').Append(fragments[i]);
            if (i + 1 < fragments.Count && rng.Chance(0.3)) question.Append(", then ").Append(fragments[++i]);
            question.Append('.');
        }
        question.Append(' ').Append(Fill(story.Question));

        string answer = options.Format == MathAnswerFormat.Direct
            ? $"#### {value}"
            : string.Join("\n", steps) + $"\n#### {value}";
        return new MathProblem(question.ToString(), answer, ops, value, canonical.ToString());
    }

    /// <summary>A uniformly chosen operation that keeps the value in [1, max] (division only when exact), and its operand.</summary>
    private static (MathOp Op, int N) ChooseOperation(SplitMix64 rng, long value, int max)
    {
        Span<MathOp> feasible = stackalloc MathOp[4];
        int count = 0;
        var divisors = Enumerable.Range(2, 9).Where(d => value % d == 0).ToArray();
        if (value < max) feasible[count++] = MathOp.Add;
        if (value >= 2) feasible[count++] = MathOp.Subtract;
        if (value * 2 <= max) feasible[count++] = MathOp.Multiply;
        if (divisors.Length > 0) feasible[count++] = MathOp.Divide;
        var op = feasible[rng.Next(0, count - 1)];
        int n = op switch
        {
            MathOp.Add => rng.Next(1, (int)Math.Min(Math.Clamp(value, 10, 100), max - value)),
            MathOp.Subtract => rng.Next(1, (int)Math.Min(value - 1, Math.Max(100, value / 2))),
            MathOp.Multiply => rng.Next(2, (int)Math.Min(9, max / value)),
            _ => rng.Pick(divisors),
        };
        return (op, n);
    }

    private static string Capitalize(string s) => char.ToUpperInvariant(s[0]) + s[1..];

    private static string Lower(string s) => char.ToLowerInvariant(s[0]) + s[1..];
}
