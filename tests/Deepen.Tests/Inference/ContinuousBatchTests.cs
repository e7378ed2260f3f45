using Deepen.Inference;
using Generator = Deepen.Inference.Generator;
using Deepen.Models;
using Deepen.Modeling;

namespace Deepen.Tests.Inference;

/// <summary>
/// Continuous batching: sequences that join a running batch at different steps, each with its own prompt length,
/// token budget, recurrence, seed and sampling, get exactly the tokens (and depths, and log-probs to float
/// tolerance) they get when generated alone, on plain and recurrent models, with fixed and adaptive depth and
/// the memory-saving cache; a sequence that leaves early changes no one else's; nothing leaks.
/// </summary>
public class ContinuousBatchTests
{
    private sealed record Request(int JoinAt, int[] Prompt, GenerationOptions Options, int? LeaveAfter = null);

    /// <summary>Twelve requests with prompts of 2–14 tokens, budgets of 3–20, recurrences 1–6, joining over nine steps.</summary>
    private static List<Request> Requests(Func<int, GenerationOptions, GenerationOptions> vary)
    {
        var random = new Random(5);
        var list = new List<Request>();
        int[] joinAt = [0, 0, 0, 1, 2, 2, 4, 5, 5, 7, 9, 9];
        for (int i = 0; i < joinAt.Length; i++)
        {
            var prompt = Enumerable.Range(0, random.Next(2, 15)).Select(_ => random.Next(3, 90)).ToArray();
            var options = new GenerationOptions { MaxNewTokens = random.Next(3, 21), StopAtEos = false, Seed = 100 + i };
            list.Add(new Request(joinAt[i], prompt, vary(i, options)));
        }
        return list;
    }

    /// <summary>
    /// Twelve requests whose prompts are one of three stems (5–9 tokens) followed by 0–6 tokens of their own, some
    /// repeating a stem exactly, joining over nine steps: the prefix cache has earlier prompts to serve them from.
    /// </summary>
    private static List<Request> SharedPrefixRequests(Func<int, GenerationOptions, GenerationOptions> vary)
    {
        var random = new Random(11);
        var stems = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, random.Next(5, 10)).Select(_ => random.Next(3, 90)).ToArray()).ToArray();
        int[] joinAt = [0, 0, 1, 2, 2, 3, 4, 5, 5, 7, 9, 9];
        return joinAt.Select((at, i) =>
        {
            var prompt = stems[i % 3].Concat(Enumerable.Range(0, i % 4 == 3 ? 0 : random.Next(1, 7)).Select(_ => random.Next(3, 90))).ToArray();
            var options = new GenerationOptions { MaxNewTokens = random.Next(3, 15), StopAtEos = false, Seed = 200 + i };
            return new Request(at, prompt, vary(i, options));
        }).ToList();
    }

    /// <summary>Runs the requests through one batch; returns each one's tokens and the most rows decoded at once.</summary>
    private static (List<GeneratedToken>[] Tokens, int MostRows) RunBatched(Generator generator, List<Request> requests) =>
        RunBatched(generator, requests, prefixCacheTokens: 0, out _);

    /// <summary>As above, with a prefix cache of <paramref name="prefixCacheTokens"/> tokens; <paramref name="reused"/>: the prompt tokens it supplied.</summary>
    private static (List<GeneratedToken>[] Tokens, int MostRows) RunBatched(Generator generator, List<Request> requests, long prefixCacheTokens, out long reused)
    {
        using var batch = new ContinuousBatch(generator, prefixCacheTokens);
        var sequences = new BatchSequence?[requests.Count];
        var tokens = requests.Select(_ => new List<GeneratedToken>()).ToArray();
        int most = 0;
        for (int step = 0; step < 200 && (step <= requests.Max(r => r.JoinAt) || batch.Count > 0); step++)
        {
            var joining = new List<BatchSequence>();   // those joining at the same step are prefilled together, left-padded
            for (int i = 0; i < requests.Count; i++)
                if (requests[i].JoinAt == step)
                {
                    int k = i;
                    joining.Add(sequences[i] = batch.Prepare(0, requests[i].Prompt, requests[i].Options, t => tokens[k].Add(t)));
                }
            batch.Join(joining);
            var leaving = requests.Select((r, i) => (r, i))
                .Where(x => x.r.LeaveAfter is int n && sequences[x.i] is { Finished: false } s && s.Tokens.Count >= n)
                .Select(x => sequences[x.i]!).ToList();
            batch.Leave(leaving);
            most = Math.Max(most, batch.Count);
            batch.Step();
        }
        Assert.Equal(0, batch.Count);
        Assert.True(batch.PrefixCacheTokens <= prefixCacheTokens);
        for (int i = 0; i < requests.Count; i++) Assert.Equal(tokens[i], sequences[i]!.Tokens);
        reused = batch.PrefixTokensReused;
        return (tokens, most);
    }

    private static void AssertEqualToAlone(string fixture, Func<int, GenerationOptions, GenerationOptions> vary, Func<Request, Request>? edit = null) =>
        AssertEqualToAlone(fixture, Requests(vary).Select(r => edit?.Invoke(r) ?? r).ToList(), prefixCacheTokens: 0);

    /// <returns>The prompt tokens the prefix cache supplied.</returns>
    private static long AssertEqualToAlone(string fixture, List<Request> requests, long prefixCacheTokens)
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel(fixture));
        var generator = new Generator(model);
        var (batched, most) = RunBatched(generator, requests, prefixCacheTokens, out long reused);
        Assert.True(most >= 6, $"at most {most} rows ran together: the test would not exercise batching");
        for (int i = 0; i < requests.Count; i++)
        {
            var alone = generator.Generate([requests[i].Prompt], requests[i].Options)[0].Tokens;
            if (requests[i].LeaveAfter is int n) alone = alone.Take(n).ToList();
            Assert.True(alone.Select(t => t.Id).SequenceEqual(batched[i].Select(t => t.Id)),
                $"{fixture} request {i}: alone [{string.Join(",", alone.Select(t => t.Id))}], batched [{string.Join(",", batched[i].Select(t => t.Id))}]");
            Assert.Equal(alone.Select(t => t.Depth), batched[i].Select(t => t.Depth));
            Assert.Equal(alone.Select(t => t.Finish), batched[i].Select(t => t.Finish));
            for (int j = 0; j < alone.Count; j++)
                Assert.True(Math.Abs(alone[j].LogProb - batched[i][j].LogProb) < 1e-4, $"{fixture} request {i} token {j}: log-prob {alone[j].LogProb} alone, {batched[i][j].LogProb} batched");
        }
        return reused;
    }

    [Theory]
    [InlineData("llama-tiny")]
    [InlineData("olmo2-tiny")]
    [InlineData("llama3-tiny")]
    public void PlainRowsServedFromThePrefixCacheGetTheirOneAtATimeTokens(string fixture)
    {
        long reused = AssertEqualToAlone(fixture, SharedPrefixRequests((i, o) => o with
        {
            Sampling = i % 3 == 1 ? new SamplingOptions { Temperature = 0.8, TopP = 0.9 } : SamplingOptions.Greedy,
        }), prefixCacheTokens: 4096);
        Assert.True(reused >= 20, $"the prefix cache supplied only {reused} prompt tokens: the test would not exercise it");
    }

    [Theory]
    [InlineData("raven-llama-tiny")]
    [InlineData("raven-olmo2-tiny")]
    public void RecurrentRowsFromZeroStatesServedFromThePrefixCacheGetTheirOneAtATimeTokens(string fixture)
    {
        long reused = AssertEqualToAlone(fixture, SharedPrefixRequests((i, o) => o with { Depth = DepthOptions.Fixed(2 + i % 3, StateInit.Zeros) }), prefixCacheTokens: 4096);   // a stem (i mod 3) at one recurrence, so later prompts find it
        Assert.True(reused >= 20, $"the prefix cache supplied only {reused} prompt tokens: the test would not exercise it");
    }

    [Fact]
    public void RowsWhosePrefillIsNotAFunctionOfTheirTokensAloneNeverUseThePrefixCache()
    {
        // Random initial states (drawn per prompt token from the row's seed), an adaptive exit (decided over the whole
        // step) and the memory-saving cache: a cached prefix would change their tokens, so none is used.
        var random = SharedPrefixRequests((i, o) => o with { Depth = DepthOptions.Fixed(1 + i % 4) });
        var adaptive = SharedPrefixRequests((i, o) => o with { Depth = DepthOptions.Adaptive(new ExitCriterion(ExitKind.Kl, 2e-4), 2 + i % 6, StateInit.Zeros) });
        var saving = SharedPrefixRequests((i, o) => o with { Depth = DepthOptions.Fixed(2 + i % 3, StateInit.Zeros), Cache = new KvCacheOptions { KeepIterations = 1 } });
        foreach (var requests in new[] { random, adaptive, saving })
            Assert.Equal(0, AssertEqualToAlone("raven-llama-tiny", requests, prefixCacheTokens: 4096));
    }

    [Fact]
    public void ThePrefixCacheKeepsToItsBudgetAndFreesEverythingWithTheBatch()
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel("llama-tiny"));
        var generator = new Generator(model);
        var options = new GenerationOptions { MaxNewTokens = 2, StopAtEos = false };
        using (var warm = new ContinuousBatch(generator, 64)) { warm.Join(0, [1, 2, 3], options); while (warm.Count > 0) warm.Step(); }
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var batch = new ContinuousBatch(generator, prefixCacheTokens: 40))
        {
            var random = new Random(3);
            for (int i = 0; i < 30; i++)
            {
                batch.Join(0, Enumerable.Range(0, random.Next(4, 12)).Select(_ => random.Next(3, 90)).ToArray(), options);
                while (batch.Count > 0) batch.Step();
                Assert.InRange(batch.PrefixCacheTokens, 1, 40);
                Assert.Equal(before + batch.HeldTensors, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);   // only what the cache holds on purpose
            }
            Assert.True(batch.HeldTensors > 0);
        }
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Theory]
    [InlineData("llama-tiny")]
    [InlineData("olmo2-tiny")]
    [InlineData("raven-llama-tiny")]
    [InlineData("raven-olmo2-tiny")]
    public void GreedyRowsAtTheirOwnRecurrenceGetTheirOneAtATimeTokens(string fixture) =>
        AssertEqualToAlone(fixture, (i, o) => o with { Depth = DepthOptions.Fixed(1 + i % 6) });

    [Fact]
    public void SeededSampledRowsGetTheirOneAtATimeTokens() =>
        AssertEqualToAlone("raven-llama-tiny", (i, o) => o with
        {
            Depth = DepthOptions.Fixed(1 + i % 4),
            Sampling = i % 3 == 0 ? SamplingOptions.Greedy : new SamplingOptions { Temperature = 0.7 + 0.1 * (i % 4), TopK = i % 2 == 0 ? 0 : 20, TopP = 0.95, RepetitionPenalty = 1.1 },
            TopLogProbs = i % 2,
        });

    [Fact]
    public void AdaptiveRowsExitAsTheyDoAlone() =>
        AssertEqualToAlone("raven-llama-tiny", (i, o) => o with { Depth = DepthOptions.Adaptive(new ExitCriterion(ExitKind.Kl, 2e-4), 2 + i % 8) });

    [Fact]
    public void TheMemorySavingCacheGivesTheOneAtATimeTokens() =>
        AssertEqualToAlone("raven-olmo2-tiny", (i, o) => o with { Depth = DepthOptions.Fixed(1 + i % 6), Cache = new KvCacheOptions { KeepIterations = 2 } });

    [Fact]
    public void AdaptiveRowsWithTheMemorySavingCacheExitAsTheyDoAlone() =>
        AssertEqualToAlone("raven-llama-tiny", (i, o) => o with
        {
            Depth = DepthOptions.Adaptive(new ExitCriterion(ExitKind.LatentDiff, 0.05), 2 + i % 8),
            Cache = new KvCacheOptions { KeepIterations = 3 },
        });

    [Fact]
    public void RowsThatLeaveEarlyChangeNoOneElsesTokens() =>
        AssertEqualToAlone("raven-llama-tiny", (i, o) => o with { Depth = DepthOptions.Fixed(1 + i % 3), MaxNewTokens = 20 },
            r => r.Prompt.Length % 3 == 0 ? r with { LeaveAfter = 2 } : r);

    [Fact]
    public void DifferentBatchSettingsDoNotJoinAndNothingOutlivesTheBatch()
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel("raven-llama-tiny"));
        var generator = new Generator(model);
        var fixedDepth = new GenerationOptions { MaxNewTokens = 8, StopAtEos = false, Seed = 1, Depth = DepthOptions.Fixed(3) };
        var adaptive = fixedDepth with { Depth = DepthOptions.Adaptive(new ExitCriterion(ExitKind.Kl, 1e-3), 4) };
        using (var warm = new ContinuousBatch(generator)) { warm.Join(0, [1, 2, 3], fixedDepth); while (warm.Count > 0) warm.Step(); }
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var batch = new ContinuousBatch(generator))
        {
            batch.Join(0, [1, 5, 9, 4], fixedDepth);
            Assert.False(batch.Accepts(adaptive));
            Assert.False(batch.Accepts(fixedDepth with { Cache = new KvCacheOptions { KeepIterations = 1 } }));
            Assert.False(ContinuousBatch.CanBatch(fixedDepth with { UseCache = false }));
            Assert.True(batch.Accepts(fixedDepth with { Depth = DepthOptions.Fixed(7), Sampling = new SamplingOptions { Temperature = 1 } }));
            Assert.Throws<InvalidOperationException>(() => batch.Join(0, [1, 2], adaptive));
            batch.Join(1, [7, 7, 7, 7, 7, 7, 7, 7, 7], fixedDepth with { Depth = DepthOptions.Fixed(6) });
            Assert.Equal(2, batch.Count);
            var ended = new List<BatchSequence>();
            while (batch.Count > 0) ended.AddRange(batch.Step());
            Assert.Equal(2, ended.Count);
            Assert.All(ended, s => Assert.Equal(8, s.Tokens.Count));
            batch.Join(0, [4, 4], fixedDepth);   // a drained batch takes new rows
            batch.Step();
        }
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
