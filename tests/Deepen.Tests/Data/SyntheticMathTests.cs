using System.Data;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Deepen.Data;

namespace Deepen.Tests.Data;

/// <summary>Synthetic GSM8K-format problems: exact annotated arithmetic, determinism, and a disjoint train/test split.</summary>
public class SyntheticMathTests
{
    private static readonly Regex Annotation = new(@"(\d+) ([-+*/]) (\d+) = <<([^=<>]+)=([^<>]+)>>(\d+)");

    private static List<MathProblem> Make(int count, ulong seed, MathSplit split, MathAnswerFormat format = MathAnswerFormat.ChainOfThought, string ops = "1-8") =>
        SyntheticMath.Generate(new SyntheticMathOptions
        {
            Count = count, Seed = seed, Split = split, Format = format, Ops = SyntheticMath.ParseOps(ops),
        }).ToList();

    [Fact]
    public void EveryAnnotationEvaluatesAndTheChainEndsInTheFinalAnswer()
    {
        var table = new DataTable();   // an independent expression evaluator
        foreach (var p in Make(400, seed: 11, MathSplit.Train))
        {
            var lines = p.Answer.Split('\n');
            Assert.Equal(p.Ops + 1, lines.Length);
            var final = Regex.Match(lines[^1], @"^#### (\d+)$");
            Assert.True(final.Success, $"last line '{lines[^1]}' is not '#### N'");
            long? previous = null;
            for (int i = 0; i < p.Ops; i++)
            {
                var matches = Annotation.Matches(lines[i]);
                Assert.True(matches.Count == 1, $"step '{lines[i]}' should carry exactly one annotation");
                var m = matches[0];
                string expr = m.Groups[4].Value, shown = m.Groups[5].Value;
                Assert.Equal($"{m.Groups[1].Value}{m.Groups[2].Value}{m.Groups[3].Value}", expr);
                var computed = Convert.ToDecimal(table.Compute(expr, ""), CultureInfo.InvariantCulture);
                Assert.True(computed == decimal.Parse(shown, CultureInfo.InvariantCulture), $"<<{expr}={shown}>> but {expr} = {computed}");
                Assert.Equal(shown, m.Groups[6].Value);
                long value = long.Parse(shown);
                Assert.InRange(value, 1, 10_000);
                if (previous is { } prev) Assert.Equal(prev, long.Parse(m.Groups[1].Value));   // operations are sequential
                previous = value;
            }
            Assert.Equal(previous, long.Parse(final.Groups[1].Value));
            Assert.Equal(p.Result, previous);
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameProblemsAndAnotherSeedDoesNot()
    {
        var a = Make(300, seed: 5, MathSplit.Test);
        var b = Make(300, seed: 5, MathSplit.Test);
        var c = Make(300, seed: 6, MathSplit.Test);
        Assert.Equal(a, b);
        Assert.True(a.Zip(c).Count(pair => pair.First.Question == pair.Second.Question) < 10, "seeds 5 and 6 should give different problems");
    }

    [Theory]
    [InlineData("1-8")]
    [InlineData("1")]   // the smallest problem space, where collisions would be likeliest
    public void TrainAndTestShareNoQuestionAndNoArithmetic(string ops)
    {
        var train = Make(1500, seed: 1, MathSplit.Train, ops: ops);
        var test = Make(1500, seed: 1, MathSplit.Test, ops: ops).Concat(Make(1500, seed: 2, MathSplit.Test, ops: ops)).ToList();
        Assert.Empty(train.Select(p => p.Question).Intersect(test.Select(p => p.Question)));
        Assert.Empty(train.Select(p => p.Canonical).Intersect(test.Select(p => p.Canonical)));
        Assert.All(train, p => Assert.Equal(MathSplit.Train, SyntheticMath.SplitOf(p.Canonical)));
        Assert.All(test, p => Assert.Equal(MathSplit.Test, SyntheticMath.SplitOf(p.Canonical)));
        Assert.Equal(train.Count, train.Select(p => p.Question).Distinct().Count());
    }

    [Fact]
    public void DirectFormatIsTheBareFinalAnswerOfTheSameProblems()
    {
        var cot = Make(100, seed: 3, MathSplit.Train);
        var direct = Make(100, seed: 3, MathSplit.Train, MathAnswerFormat.Direct);
        Assert.Equal(cot.Select(p => p.Question), direct.Select(p => p.Question));
        Assert.All(direct.Zip(cot), pair => Assert.Equal($"#### {pair.Second.Result}", pair.First.Answer));
    }

    [Fact]
    public void ProblemsCycleThroughTheRequestedOperationCounts()
    {
        Assert.Equal([1, 2, 3, 6], SyntheticMath.ParseOps("1-3,6"));
        var problems = Make(40, seed: 9, MathSplit.Train, ops: "1-3,6");
        Assert.Equal(Enumerable.Range(0, 40).Select(i => new[] { 1, 2, 3, 6 }[i % 4]), problems.Select(p => p.Ops));
        Assert.All(problems, p => Assert.Equal(p.Ops, p.Canonical.Count(ch => "+-*/".Contains(ch))));
    }

    [Theory]
    [InlineData("0-3", "within 1-8")]
    [InlineData("2-9", "within 1-8")]
    [InlineData("5-2", "lower bound first")]
    [InlineData("x", "'x' is not a number")]
    public void BadOpsSpecsAreRejectedWithTheReason(string spec, string expected)
    {
        var e = Assert.Throws<DeepenException>(() => SyntheticMath.ParseOps(spec));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void JsonlRecordsCarryQuestionAnswerAndOps()
    {
        using var dir = new TestPaths.TempDir();
        var problems = Make(20, seed: 4, MathSplit.Test, ops: "2-3");
        Assert.Equal(20, SyntheticMath.WriteJsonl(dir["sub/test.jsonl"], problems));
        var lines = File.ReadAllLines(dir["sub/test.jsonl"]);
        Assert.Equal(20, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            Assert.Equal(problems[i].Question, doc.RootElement.GetProperty("question").GetString());
            Assert.Equal(problems[i].Answer, doc.RootElement.GetProperty("answer").GetString());
            Assert.Equal(problems[i].Ops, doc.RootElement.GetProperty("ops").GetInt32());
        }
        Assert.Single(Directory.GetFiles(dir["sub"]));   // no temporary file left behind
    }
}
