using System.Text.RegularExpressions;
using Deepen.Data;

namespace Deepen.Tests.Data;

/// <summary>The demo's chain task: answers recomputed independently from the shown text, disjoint splits, determinism.</summary>
public class ModChainTests
{
    private static int Evaluate(string question)
    {
        var m = Regex.Match(question, @"^mod 10: (\d)((?: [+\-*]\d)+) =$");
        Assert.True(m.Success, question);
        int v = int.Parse(m.Groups[1].Value);
        foreach (var op in m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int d = op[1] - '0';
            v = op[0] switch { '+' => v + d, '-' => v - d, _ => v * d };
            v = ((v % 10) + 10) % 10;
        }
        return v;
    }

    [Fact]
    public void AnswersMatchTheShownArithmetic()
    {
        var problems = ModChain.Generate(new ModChainOptions { Count = 600, Ops = ModChain.ParseOps("1-12"), Seed = 5, Distinct = false }).ToList();
        Assert.Equal(600, problems.Count);
        foreach (var p in problems)
        {
            Assert.Equal(Evaluate(p.Question), p.Result);
            Assert.Equal(" " + p.Result, p.Answer);
            Assert.Equal(p.Ops, Regex.Matches(p.Question, @" [+\-*]\d").Count);
        }
        Assert.Equal(Enumerable.Range(1, 12), problems.Select(p => p.Ops).Distinct().Order());
        Assert.All(problems.Where(p => p.Question.Contains('*')), p => Assert.Matches(@"\*[379]", p.Question));
    }

    [Fact]
    public void SplitsAreDisjointAndDeterministic()
    {
        IReadOnlyList<ChainProblem> Make(ChainSplit split, ulong seed) =>
            ModChain.Generate(new ModChainOptions { Count = 400, Ops = [2, 3, 6], Seed = seed, Split = split }).ToList();
        var train = Make(ChainSplit.Train, 1);
        var val = Make(ChainSplit.Validation, 1);
        var test = Make(ChainSplit.Test, 1);
        Assert.Equal(train, Make(ChainSplit.Train, 1));
        Assert.NotEqual(test.Select(p => p.Canonical), Make(ChainSplit.Test, 2).Select(p => p.Canonical));
        Assert.Empty(train.Select(p => p.Canonical).Intersect(test.Select(p => p.Canonical)));
        Assert.Empty(val.Select(p => p.Canonical).Intersect(test.Select(p => p.Canonical)));
        Assert.Empty(train.Select(p => p.Canonical).Intersect(val.Select(p => p.Canonical)));
        Assert.All(test, p => Assert.Equal(ChainSplit.Test, ModChain.SplitOf(p.Canonical)));
        Assert.Equal(test.Count, test.Select(p => p.Canonical).Distinct().Count());
    }

    [Fact]
    public void ShortChainsStopAtWhatTheirSplitHolds()
    {
        // 1-operation chains have 10 × 21 = 210 forms; the test split holds about a tenth of them.
        var ones = ModChain.Generate(new ModChainOptions { Count = 2000, Ops = [1, 5], Split = ChainSplit.Test }).ToList();
        int single = ones.Count(p => p.Ops == 1);
        Assert.InRange(single, 5, 50);
        Assert.Equal(1000, ones.Count(p => p.Ops == 5));
    }

    [Theory]
    [InlineData("0-3")]
    [InlineData("40")]
    [InlineData("x")]
    public void BadOpsAreRejectedWithTheSpec(string spec)
    {
        var e = Assert.Throws<DeepenException>(() => ModChain.ParseOps(spec));
        Assert.Contains(spec, e.Message);
    }
}
