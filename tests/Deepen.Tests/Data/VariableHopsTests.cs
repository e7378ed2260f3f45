using System.Text.RegularExpressions;
using Deepen.Data;
using Deepen.Tokenization;

namespace Deepen.Tests.Data;

/// <summary>Variable look-ups: answers and hop counts recomputed from the shown text, distractors, splits, errors.</summary>
public class VariableHopsTests
{
    /// <summary>Follows the definitions from the asked name to a digit; returns the digit and the hops taken.</summary>
    private static (int Digit, int Hops) Follow(string question)
    {
        var m = Regex.Match(question, @"^find ([a-z]):((?:[a-z]=[a-z0-9];?)+)\.\1\?$");
        Assert.True(m.Success, question);
        var defs = new Dictionary<string, string>();
        foreach (var d in m.Groups[2].Value.Split(';'))
        {
            var parts = d.Split('=');
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
            Assert.Equal(digit.ToString(), p.Answer);
            Assert.Equal(3 * p.Ops, Regex.Matches(p.Question, @"[a-z]=").Count);                  // 3 chains of Ops definitions
            var digits = Regex.Matches(p.Question, @"=(\d)").Select(x => x.Groups[1].Value).ToList();
            Assert.Equal(3, digits.Distinct().Count());                                              // each chain its own digit
        }
        Assert.Equal(Enumerable.Range(1, 8), problems.Select(p => p.Ops).Distinct().Order());
    }

    [Fact]
    public void WorkedProblemsWriteOutEveryHopOfTheAskedChain()
    {
        var problems = VariableHops.Generate(new VariableHopsOptions { Count = 300, Hops = [1, 2, 3, 5, 8], Seed = 4, WorkedFraction = 0.5 }).ToList();
        var worked = problems.Where(p => p.Question.EndsWith(VariableHops.WorkedMarker, StringComparison.Ordinal)).ToList();
        Assert.InRange(worked.Count, 120, 180);
        Assert.All(problems.Except(worked), p => Assert.EndsWith(VariableHops.AnswerMarker, p.Question));
        foreach (var p in worked)
        {
            Assert.Equal(p.Question[..^1] + VariableHops.AnswerMarker, p.Canonical);                 // same problem, same split as its direct form
            var (digit, hops) = Follow(p.Canonical);
            var defs = p.Question[(p.Question.IndexOf(':') + 1)..p.Question.LastIndexOf('.')].Split(';').ToDictionary(d => d[0], d => d[2]);
            var path = p.Answer.Split(VariableHops.WorkedMarker);
            Assert.Equal(hops, path.Length);
            char current = p.Question[^2];                                                             // the asked name
            foreach (var step in path) { Assert.Equal(defs[current].ToString(), step); current = step[0]; }
            Assert.Equal(digit.ToString(), path[^1]);
            Assert.Equal((p.Ops, p.Result), (hops, digit));
        }
    }

    [Fact]
    public void AskAllProblemsAskEveryChainHeadOnceWithItsOwnAnswer()
    {
        var problems = VariableHops.Generate(new VariableHopsOptions { Count = 300, Hops = [1, 2, 4], Chains = 5, Seed = 6, AskAllFraction = 0.5 }).ToList();
        var dense = problems.Where(p => p.Answer.Length > 1).ToList();
        Assert.InRange(dense.Count, 120, 180);
        foreach (var p in dense)
        {
            Assert.Equal(p.Question, p.Canonical);                                                     // the same question as the direct form
            var defs = p.Question[(p.Question.IndexOf(':') + 1)..p.Question.LastIndexOf('.')].Split(';').ToDictionary(d => d[0], d => d[2]);
            var asked = new List<char> { p.Question[^2] };
            var answers = new List<string> { p.Answer[..1] };
            foreach (Match m in Regex.Matches(p.Answer[1..], @"\.([a-z])\?(\d)")) { asked.Add(m.Groups[1].Value[0]); answers.Add(m.Groups[2].Value); }
            Assert.Equal(p.Answer, answers[0] + string.Concat(asked.Skip(1).Zip(answers.Skip(1), (n, a) => $".{n}?{a}")));
            var heads = defs.Keys.Where(n => !defs.Values.Contains(n)).Order().ToList();             // a head is defined, never a value
            Assert.Equal(heads, asked.Order().ToList());
            for (int i = 0; i < asked.Count; i++)
            {
                char current = asked[i];
                int hops = 0;
                while (!char.IsDigit(current)) { current = defs[current]; hops++; }
                Assert.Equal((answers[i], p.Ops), (current.ToString(), hops));
            }
        }
        Assert.All(problems.Except(dense), p => Assert.Equal(p.Result.ToString(), p.Answer));
    }

    /// <summary>Written by the generator before the ask-all form existed (commit cae1c8e, <c>deepen data synth-hops --count 4
    /// --seed 8 --hops 1-4 --worked-fraction 0.3</c>): a new form must not change the problems of the old ones.</summary>
    [Fact]
    public void TheProblemsOfASeedAreTheOnesWrittenBeforeTheAskAllForm() =>
        Assert.Equal(
        [
            "find f:j=9;l=2;f=4.f?4",
            "find y:e=3;t=6;j=7;y=t;o=e;x=j.y>t>6",
            "find z:z=f;k=m;o=h;c=5;x=6;e=o;h=1;m=c;f=x.z>f>x>6",
            "find x:w=s;p=l;x=t;q=n;l=z;m=5;s=h;b=w;z=m;h=6;t=q;n=2.x>t>q>n>2",
        ], VariableHops.Generate(new VariableHopsOptions { Count = 4, Hops = [1, 2, 3, 4], Seed = 8, WorkedFraction = 0.3 }).Select(ModChain.TrainingText));

    [Fact]
    public void WorkedFractionZeroLeavesTheDirectProblemsUnchanged() =>
        Assert.Equal(VariableHops.Generate(new VariableHopsOptions { Count = 50, Seed = 8 }).Select(p => p.Question + p.Answer),
            VariableHops.Generate(new VariableHopsOptions { Count = 50, Seed = 8, WorkedFraction = 0 }).Select(p => p.Question + p.Answer));

    [Fact]
    public void EverySymbolIsOneTokenOfTheShippedTokenizer()
    {
        using var tok = Deepen.Tokenization.TextTokenizer.FromDirectory(Path.Combine(TestPaths.RepoRoot, "models", "tiny-base"));
        foreach (var p in VariableHops.Generate(new VariableHopsOptions { Count = 100, Hops = [1, 2, 3, 4, 5, 6, 7, 8], Seed = 5 }))
        {
            var body = p.Question[(p.Question.IndexOf(':') + 1)..];                                // r=f;l=3;…;k=o.k?
            Assert.Equal(body.Length, tok.Encode(body, addSpecialTokens: false).Length);
            Assert.Single(tok.Encode(p.Answer, addSpecialTokens: false));
        }
    }

    [Fact]
    public void TheAskedDefinitionIsNotAlwaysInTheSamePlace()
    {
        var firstDefined = VariableHops.Generate(new VariableHopsOptions { Count = 200, Hops = [3], Seed = 9 })
            .Select(p => Regex.Match(p.Question, @"^find ([a-z]):([a-z])=").Groups is var g && g[1].Value == g[2].Value).ToList();
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
    [InlineData(2, 3, "worked fraction 1.5", 1.5)]
    [InlineData(2, 3, "ask-all fraction -0.1", 0, -0.1)]
    public void BadSettingsNameTheValue(int hops, int chains, string message, double worked = 0, double askAll = 0)
    {
        var ex = Assert.Throws<DeepenException>(() => VariableHops.Generate(new VariableHopsOptions { Hops = [hops], Chains = chains, WorkedFraction = worked, AskAllFraction = askAll }).ToList());
        Assert.Contains(message, ex.Message);
    }
}
