using System.Diagnostics;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tokenization;
using Xunit.Abstractions;
using Deepen.Models;

namespace Deepen.Tests.Inference;

/// <summary>
/// The server's exposed case: the model runs on one thread while others allocate, so garbage collections and
/// finalizers run during native calls. A TorchSharp <c>Scalar</c> made implicitly for a call (a number in an
/// operator, an alpha of 1) can be finalized while the call still reads it (TorchSharp 0.107, upstream PRs #1434/#1496).
/// Over a fixed number of seeded sampled generations, with a thread forcing collections the whole time, every
/// generation must succeed and equal the same generation made without that thread.
/// </summary>
public sealed class GcStressTests(ITestOutputHelper output)
{
    private static readonly GenerationOptions Options = new()
    {
        MaxNewTokens = 32, Depth = DepthOptions.Adaptive(ExitCriterion.Parse("latent:0.03"), 6),
        Sampling = new SamplingOptions { Temperature = 0.8, TopK = 40, TopP = 0.9, MinP = 0.02, RepetitionPenalty = 1.2 },
        StopStrings = ["zz"],
    };

    [Fact]
    public void GenerationUnderForcedCollectionsNeverFailsAndNeverChangesItsTokens()
    {
        using var files = new TinyTextModel(context: 128);
        using var model = DeepenModel.Load(files.Dir);
        using var tok = TextTokenizer.FromDirectory(files.Dir);
        var generator = new Generator(model, tok);
        string[] prompts = ["the quick brown", "Q: what is 3 plus", "dog number 7 jumps"];
        const int Rounds = 10;
        List<int>[] Run(int round) => generator.Generate(prompts, Options with { Seed = 100 + round }).Select(c => c.Tokens.Select(t => t.Id).ToList()).ToArray();

        var expected = Enumerable.Range(0, Rounds).Select(Run).ToList();

        var pressure = new GcPressure();
        var failures = new List<string>();
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            for (int round = 0; round < Rounds; round++)
            {
                try
                {
                    var got = Run(round);
                    tokens += got.Sum(g => g.Count);
                    for (int row = 0; row < prompts.Length; row++)
                        if (!got[row].SequenceEqual(expected[round][row])) failures.Add($"round {round} row {row}: different tokens");
                }
                catch (Exception e) { failures.Add($"round {round}: {e.GetType().Name}: {e.Message}"); if (failures.Count == 1) output.WriteLine(e.ToString()); }
            }
        }
        finally { pressure.Dispose(); }
        output.WriteLine($"{Rounds} rounds × {prompts.Length} rows: {tokens} tokens in {clock.Elapsed.TotalSeconds:F1} s under {pressure.Collections} forced collections; {failures.Count} failures");
        Assert.True(pressure.Collections > Rounds, "the pressure thread barely ran");
        Assert.Empty(failures);
    }
}
