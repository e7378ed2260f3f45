using Deepen.Checkpoints;
using Deepen.Inference;
using Deepen.Modeling;
using static TorchSharp.torch;
using Generator = Deepen.Inference.Generator;
using TorchGenerator = TorchSharp.torch.Generator;
using Deepen.Models;

namespace Deepen.Tests.Models;

/// <summary>
/// The KV cache: greedy generation with the cache equals generation that re-runs the whole sequence through the
/// model's own forward at every step (plain and recurrent models, r ∈ {1, 4}, zero state and seeded per-token
/// noise); batched left-padded generation equals one prompt at a time; the memory-saving mode keeps fewer entries.
/// </summary>
public class KvCacheTests
{
    private static readonly int[] Prompt = [1, 17, 5, 60, 33, 9, 88, 41];

    private static GenerationOptions Greedy(int tokens, int r, StateInit state = StateInit.Zeros, long seed = 0) => new()
    {
        MaxNewTokens = tokens,
        StopAtEos = false,
        Depth = DepthOptions.Fixed(r, state),
        Seed = seed,
    };

    [Theory]
    [InlineData("llama-tiny", 1)]
    [InlineData("llama3-tiny", 1)]
    [InlineData("olmo2-tiny", 1)]
    [InlineData("raven-llama-tiny", 1)]
    [InlineData("raven-llama-tiny", 4)]
    [InlineData("raven-olmo2-tiny", 1)]
    [InlineData("raven-olmo2-tiny", 4)]
    [InlineData("converted-llama3-tiny", 4)]
    public void CachedGreedyGenerationEqualsRecomputingTheWholeSequence(string fixture, int r)
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel(fixture));
        var cached = new Generator(model).Generate([Prompt], Greedy(64, r))[0];

        var ids = Prompt.ToList();
        var depth = DepthOptions.Fixed(r, StateInit.Zeros);
        for (int step = 0; step < 64; step++)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var logits = model.Forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0), depth, null)[0, -1];   // (V,)
            int next = (int)logits.argmax().item<long>();
            Assert.True(next == cached.Tokens[step].Id, $"{fixture} r={r}: token {step} cached {cached.Tokens[step].Id}, recomputed {next}");
            double lp = logits.log_softmax(0)[next].item<float>();
            Assert.True(Math.Abs(lp - cached.Tokens[step].LogProb) < 1e-4, $"{fixture} r={r}: token {step} log-prob {cached.Tokens[step].LogProb} vs {lp}");
            ids.Add(next);
        }
        Assert.Equal(64, cached.Tokens.Count);
        Assert.All(cached.Tokens, t => Assert.Equal(model.IsRecurrent ? r : 1, t.Depth));
    }

    [Theory]
    [InlineData("raven-llama-tiny", 1)]
    [InlineData("raven-olmo2-tiny", 4)]
    public void CachedGenerationWithSeededNoiseEqualsRecomputingWithTheSameNoise(string fixture, int r)
    {
        using var recurrent = RecurrentCheckpoint.Load(TestPaths.FixtureModel(fixture));
        using var model = DeepenModel.For(recurrent);
        const long seed = 1234;
        var cached = new Generator(model).Generate([Prompt], Greedy(32, r, StateInit.Random, seed))[0];

        // The generator draws each step's initial state from one generator seeded with the seed: the prompt's
        // (1, T, d) first, then (1, 1, d) per token. Replay those draws and run the whole sequence each time.
        using var noise = new TorchGenerator((ulong)seed);
        var opts = new RecurrenceOptions(r, Generator: noise);
        var ids = Prompt.ToList();
        var states = new List<Tensor>();
        long d = recurrent.Config.Block.HiddenSize;
        using var noGrad = no_grad();
        states.Add(recurrent.InitialState(zeros(1, Prompt.Length, d), opts));
        for (int step = 0; step < 32; step++)
        {
            using var scope = NewDisposeScope();
            var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
            var (cos, sin) = recurrent.PositionTables(input);
            var e = recurrent.Prelude(input, cos, sin);
            var logits = recurrent.Coda(recurrent.Recur(e, cat(states, 1), opts, cos, sin), cos, sin)[0, -1];
            int next = (int)logits.argmax().item<long>();
            Assert.True(next == cached.Tokens[step].Id, $"{fixture} r={r}: token {step} cached {cached.Tokens[step].Id}, recomputed {next}");
            ids.Add(next);
            states.Add(recurrent.InitialState(zeros(1, 1, d), opts).MoveToOuterDisposeScope());
        }
        foreach (var s in states) s.Dispose();
    }

    [Theory]
    [InlineData("llama3-tiny", 1)]
    [InlineData("raven-llama-tiny", 4)]
    [InlineData("raven-olmo2-tiny", 3)]
    public void BatchedLeftPaddedGenerationEqualsOnePromptAtATime(string fixture, int r)
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel(fixture));
        IReadOnlyList<int>[] prompts = [Prompt, [1, 70, 3], [1, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22], [1]];
        var generator = new Generator(model);
        var batched = generator.Generate(prompts, Greedy(24, r));
        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = generator.Generate([prompts[i]], Greedy(24, r))[0];
            Assert.Equal(alone.Tokens.Select(t => t.Id), batched[i].Tokens.Select(t => t.Id));
            for (int j = 0; j < alone.Tokens.Count; j++)
                Assert.True(Math.Abs(alone.Tokens[j].LogProb - batched[i].Tokens[j].LogProb) < 1e-4, $"prompt {i} token {j}");
        }
    }

    [Fact]
    public void UncachedGenerationMatchesCachedGeneration()
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel("raven-llama-tiny"));
        IReadOnlyList<int>[] prompts = [Prompt, [1, 70, 3]];
        var generator = new Generator(model);
        var cached = generator.Generate(prompts, Greedy(16, 3));
        var uncached = generator.Generate(prompts, Greedy(16, 3) with { UseCache = false });
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(cached[i].Tokens.Select(t => t.Id), uncached[i].Tokens.Select(t => t.Id));
    }

    [Fact]
    public void MemorySavingModeKeepsFewerEntriesAndIsExactWhenItKeepsEveryIteration()
    {
        using var recurrent = RecurrentCheckpoint.Load(TestPaths.FixtureModel("raven-llama-tiny"));
        using var model = DeepenModel.For(recurrent);
        var c = recurrent.Config;
        int r = 6;
        using (var full = model.NewCache(1, null, 16, DepthOptions.Fixed(r)))
        using (var saving = model.NewCache(1, null, 16, DepthOptions.Fixed(r), new KvCacheOptions { KeepIterations = 2 }))
        using (no_grad())
        using (NewDisposeScope())
        {
            var ids = tensor(Prompt.Select(i => (long)i).ToArray()).unsqueeze(0);
            model.Step(ids, full, DepthOptions.Fixed(r, StateInit.Zeros), null);
            model.Step(ids, saving, DepthOptions.Fixed(r, StateInit.Zeros), null);
            Assert.Equal(c.PreludeLayers + r * c.CoreLayers + c.CodaLayers, full.EntryCount);
            Assert.Equal(c.PreludeLayers + 2 * c.CoreLayers + c.CodaLayers, saving.EntryCount);
            Assert.True(saving.Bytes < full.Bytes);
        }

        var generator = new Generator(model);
        var exact = generator.Generate([Prompt], Greedy(24, r))[0];
        var keepAll = generator.Generate([Prompt], Greedy(24, r) with { Cache = new KvCacheOptions { KeepIterations = r } })[0];
        var keepOne = generator.Generate([Prompt], Greedy(24, r) with { Cache = new KvCacheOptions { KeepIterations = 1 } })[0];
        Assert.Equal(exact.Tokens.Select(t => t.LogProb), keepAll.Tokens.Select(t => t.LogProb));
        // The prompt's prefill is exact in every mode, so the first token agrees; later ones are approximations.
        Assert.Equal(exact.Tokens[0].LogProb, keepOne.Tokens[0].LogProb, 5);
        Assert.NotEqual(exact.Tokens.Select(t => t.LogProb), keepOne.Tokens.Select(t => t.LogProb));
    }
}
