using Deepen.Checkpoints;
using Deepen.Inference;
using Deepen.Modeling;
using static TorchSharp.torch;
using Generator = Deepen.Inference.Generator;
using Deepen.Models;

namespace Deepen.Tests.Inference;

/// <summary>
/// Adaptive depth: the prompt's step stops at the first iteration whose change (KL of the next-token distribution,
/// or relative latent change) falls below the threshold, as computed independently from fixed-depth forwards;
/// recorded depths obey the bounds; batched rows exit independently and equal their unbatched runs.
/// </summary>
public class AdaptiveDepthTests
{
    private static readonly int[] Prompt = [1, 17, 5, 60, 33, 9, 88, 41];
    private const int MaxR = 12;

    private static GenerationOptions Adaptive(ExitCriterion exit, int tokens = 1) => new()
    {
        MaxNewTokens = tokens,
        StopAtEos = false,
        Depth = DepthOptions.Adaptive(exit, MaxR, StateInit.Zeros),
    };

    /// <summary>Per fixed depth t = 1..MaxR: the prompt's last-position log-probabilities and final latent.</summary>
    private static (float[][] LogProbs, float[][] Latents) FixedDepthRuns(RecurrentModel m)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(Prompt.Select(i => (long)i).ToArray()).unsqueeze(0);
        var (cos, sin) = m.PositionTables(ids);
        var e = m.Prelude(ids, cos, sin);
        var logps = new float[MaxR][];
        var latents = new float[MaxR][];
        for (int t = 1; t <= MaxR; t++)
        {
            var opts = new RecurrenceOptions(t, State: StateInit.Zeros);
            var s = m.Recur(e, m.InitialState(e, opts), opts, cos, sin);
            latents[t - 1] = s[0, -1].data<float>().ToArray();
            logps[t - 1] = m.Coda(s, cos, sin)[0, -1].log_softmax(0).data<float>().ToArray();
        }
        return (logps, latents);
    }

    private static double Kl(float[] p, float[] q) => p.Zip(q).Sum(x => Math.Exp(x.First) * (x.First - x.Second));

    private static double LatentChange(float[] prev, float[] cur) =>
        Math.Sqrt(prev.Zip(cur).Sum(x => (double)(x.Second - x.First) * (x.Second - x.First))) / Math.Sqrt(cur.Sum(x => (double)x * x));

    /// <summary>A threshold that the change first passes at an iteration in the middle, and that iteration.</summary>
    private static (double Threshold, int Depth) MiddleExit(double[] change)
    {
        // change[t] compares iterations t + 1 and t + 2, so passing it stops at depth t + 2. Pick the last t whose change
        // is below all earlier ones (a record low), and a threshold between it and the earlier minimum.
        int best = 0;
        double min = change[0], before = double.PositiveInfinity;
        for (int t = 1; t < change.Length; t++)
            if (change[t] < min * 0.98) { before = min; min = change[t]; best = t; }
        return (best == 0 ? min * 1.01 : Math.Sqrt(min * before), best + 2);
    }

    [Theory]
    [InlineData("raven-llama-tiny")]
    [InlineData("raven-olmo2-tiny")]
    public void KlExitStopsWhereFixedDepthRunsSayItShould(string fixture)
    {
        using var recurrent = RecurrentCheckpoint.Load(TestPaths.FixtureModel(fixture));
        var (logps, _) = FixedDepthRuns(recurrent);
        var change = Enumerable.Range(1, MaxR - 1).Select(t => Kl(logps[t - 1], logps[t])).ToArray();
        var (threshold, depth) = MiddleExit(change);

        using var model = DeepenModel.For(recurrent);
        var first = new Generator(model).Generate([Prompt], Adaptive(new ExitCriterion(ExitKind.Kl, threshold)))[0].Tokens[0];
        Assert.Equal(depth, first.Depth);
        int argmax = Array.IndexOf(logps[depth - 1], logps[depth - 1].Max());
        Assert.Equal(argmax, first.Id);
        Assert.Equal(logps[depth - 1][argmax], first.LogProb, 4);
    }

    [Theory]
    [InlineData("raven-llama-tiny")]
    [InlineData("raven-olmo2-tiny")]
    public void LatentExitStopsWhereFixedDepthRunsSayItShould(string fixture)
    {
        using var recurrent = RecurrentCheckpoint.Load(TestPaths.FixtureModel(fixture));
        var (logps, latents) = FixedDepthRuns(recurrent);
        var change = Enumerable.Range(1, MaxR - 1).Select(t => LatentChange(latents[t - 1], latents[t])).ToArray();
        var (threshold, depth) = MiddleExit(change);

        using var model = DeepenModel.For(recurrent);
        var first = new Generator(model).Generate([Prompt], Adaptive(new ExitCriterion(ExitKind.LatentDiff, threshold)))[0].Tokens[0];
        Assert.Equal(depth, first.Depth);
        Assert.Equal(logps[depth - 1].Max(), first.LogProb, 4);
    }

    [Fact]
    public void DepthsStayWithinBoundsAndExtremeThresholdsGiveTheBounds()
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel("raven-llama-tiny"));
        var generator = new Generator(model);
        var never = generator.Generate([Prompt], Adaptive(new ExitCriterion(ExitKind.Kl, 1e-30), 16))[0];
        var fixedMax = generator.Generate([Prompt], new GenerationOptions
        {
            MaxNewTokens = 16, StopAtEos = false, Depth = DepthOptions.Fixed(MaxR, StateInit.Zeros),
        })[0];
        Assert.All(never.Tokens, t => Assert.Equal(MaxR, t.Depth));
        Assert.Equal(fixedMax.Tokens.Select(t => t.Id), never.Tokens.Select(t => t.Id));

        var always = generator.Generate([Prompt], Adaptive(new ExitCriterion(ExitKind.Kl, 1e9), 16))[0];
        Assert.All(always.Tokens, t => Assert.Equal(2, t.Depth));

        var mid = generator.Generate([Prompt], Adaptive(new ExitCriterion(ExitKind.Kl, 1e-4), 32))[0];
        Assert.All(mid.Tokens, t => Assert.InRange(t.Depth, 2, MaxR));
    }

    [Fact]
    public void BatchedRowsExitIndependentlyAndMatchTheirUnbatchedRuns()
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel("raven-llama-tiny"));
        var generator = new Generator(model);
        IReadOnlyList<int>[] prompts = [Prompt, [1, 70, 3], [1, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]];
        var options = Adaptive(new ExitCriterion(ExitKind.Kl, ThresholdForBatch), 12);
        var batched = generator.Generate(prompts, options);
        var depths = new HashSet<int>();
        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = generator.Generate([prompts[i]], options)[0];
            Assert.Equal(alone.Tokens.Select(t => t.Depth), batched[i].Tokens.Select(t => t.Depth));
            Assert.Equal(alone.Tokens.Select(t => t.Id), batched[i].Tokens.Select(t => t.Id));
            depths.UnionWith(alone.Tokens.Select(t => t.Depth));
        }
        Assert.True(depths.Count > 2, $"depths {string.Join(",", depths)}: too few different depths; every token used the same depth {string.Join(",", depths)}: the test would not see rows exit at different iterations");
    }

    private const double ThresholdForBatch = 0.3;   // the fixture is random: KL between iterations stays large, so depths 4..12 at this threshold

    [Theory]
    [InlineData("kl:5e-4", ExitKind.Kl, 5e-4)]
    [InlineData("latent:0.03", ExitKind.LatentDiff, 0.03)]
    [InlineData("latent-diff:1e-2", ExitKind.LatentDiff, 1e-2)]
    [InlineData("kl", ExitKind.Kl, 5e-4)]
    public void CriteriaParse(string text, ExitKind kind, double threshold)
    {
        var c = ExitCriterion.Parse(text);
        Assert.Equal(kind, c.Kind);
        Assert.Equal(threshold, c.Threshold);
    }

    [Theory]
    [InlineData("entropy:1e-3", "unknown criterion")]
    [InlineData("kl:-1", "not a positive number")]
    [InlineData("kl:abc", "not a positive number")]
    public void BadCriteriaAreClearErrors(string text, string message)
    {
        var e = Assert.Throws<DeepenException>(() => ExitCriterion.Parse(text));
        Assert.Contains(message, e.Message);
    }
}
