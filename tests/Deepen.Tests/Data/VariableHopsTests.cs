using System.Text.RegularExpressions;
using Deepen.Data;

namespace Deepen.Tests.Data;

/// <summary>Variable look-ups: answers and hop counts recomputed from the shown text, distractors, splits, errors.</summary>
public class VariableHopsTests
{
    /// <summary>Follows the definitions from the asked name to a digit; returns the digit and the hops taken.</summary>
    private static (int Digit, int Hops) Follow(string question)
    {
        var m = Regex.Match(question, @"^find ([a-z]): ((?:[a-z] = [a-z0-9](?: ; )?)+) \. \1 \?$");
        Assert.True(m.Success, question);
        var defs = new Dictionary<string, string>();
        foreach (var d in m.Groups[2].Value.Split(" ; "))
        {
            var parts = d.Split(" = ");
            Assert.True(defs.TryAdd(parts[0], parts[1]), $"'{parts[0]}' defined twice in {question}");
        }
        string current = m.Groups[1].Value;
        int hops = 0;
        while (!char.IsDigit(current[0])) { current = defs[current]; hops++; }
        return (current[0] - '0', hops);
    }

    [Fact]
    public void AnswersAndHopsMatchTheShownDefinitions()
    {
        var problems = VariableHops.Generate(new VariableHopsOptions { Count = 400, Hops = [1, 2, 3, 4, 5, 6, 7, 8], Seed = 3 }).ToList();
        Assert.Equal(400, problems.Count);
        foreach (var p in problems)
        {
            var (digit, hops) = Follow(p.Question);
            Assert.Equal(p.Result, digit);
            Assert.Equal(p.Ops, hops);
            Assert.Equal(" " + digit, p.Answer);
            Assert.Equal(3 * p.Ops, Regex.Matches(p.Question, @"[a-z] = ").Count);                  // 3 chains of Ops definitions
            var digits = Regex.Matches(p.Question, @"= (\d)").Select(x => x.Groups[1].Value).ToList();
            Assert.Equal(3, digits.Distinct().Count());                                              // each chain its own digit
        }
        Assert.Equal(Enumerable.Range(1, 8), problems.Select(p => p.Ops).Distinct().Order());
    }

    [Fact]
    public void TheAskedDefinitionIsNotAlwaysInTheSamePlace()
    {
        var firstDefined = VariableHops.Generate(new VariableHopsOptions { Count = 200, Hops = [3], Seed = 9 })
            .Select(p => Regex.Match(p.Question, @"^find ([a-z]): ([a-z]) =").Groups is var g && g[1].Value == g[2].Value).ToList();
        Assert.InRange(firstDefined.Count(x => x), 10, 70);                                          // about 1 in 9
    }

    [Fact]
    public void SplitsAreDisjointAndDeterministic()
    {
        IEnumerable<string> Of(ChainSplit split, ulong seed) =>
            VariableHops.Generate(new VariableHopsOptions { Count = 300, Hops = [1, 2], Seed = seed, Split = split }).Select(p => p.Question);
        var train = Of(ChainSplit.Train, 1).ToHashSet();
        var test = Of(ChainSplit.Test, 1).ToList();
        Assert.Equal(test, Of(ChainSplit.Test, 1));
        Assert.NotEqual(test, Of(ChainSplit.Test, 2));
        Assert.DoesNotContain(test, train.Contains);
        Assert.All(test, q => Assert.Equal(ChainSplit.Test, VariableHops.SplitOf(q)));
        Assert.All(Of(ChainSplit.Validation, 1), q => Assert.Equal(ChainSplit.Validation, VariableHops.SplitOf(q)));
    }

    [Theory]
    [InlineData(9, 3, "1..8")]
    [InlineData(1, 11, "chains 11")]
    [InlineData(0, 3, "1..8")]
    public void BadSettingsNameTheValue(int hops, int chains, string message)
    {
        var ex = Assert.Throws<DeepenException>(() => VariableHops.Generate(new VariableHopsOptions { Hops = [hops], Chains = chains }).ToList());
        Assert.Contains(message, ex.Message);
    }
}
