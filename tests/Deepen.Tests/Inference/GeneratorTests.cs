using Deepen.Evaluation;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tokenization;
using static TorchSharp.torch;
using Generator = Deepen.Inference.Generator;
using Deepen.Models;

namespace Deepen.Tests.Inference;

/// <summary>
/// The generator with text: stop strings and EOS end rows with the right text, streamed pieces add up to the
/// text and never show part of a stop string, seeds reproduce sampled text, the async stream equals the
/// synchronous one, bad prompts are clear errors, and many steps leak no tensors.
/// </summary>
public class GeneratorTests : IClassFixture<GeneratorTests.Model>
{
    public sealed class Model : IDisposable
    {
        public TinyTextModel Files { get; } = new(context: 64);
        public DeepenModel Net { get; }
        public TextTokenizer Tokenizer { get; }
        public Model() { Net = DeepenModel.Load(Files.Dir); Tokenizer = TextTokenizer.FromDirectory(Files.Dir); }
        public void Dispose() { Net.Dispose(); Tokenizer.Dispose(); Files.Dispose(); }
    }

    private readonly Generator generator;
    public GeneratorTests(Model m) => generator = new Generator(m.Net, m.Tokenizer);

    private static GenerationOptions Greedy(int n) => new() { MaxNewTokens = n, StopAtEos = false, Depth = DepthOptions.Fixed(2, StateInit.Zeros) };

    [Fact]
    public void StopStringEndsTheTextBeforeItsFirstOccurrence()
    {
        var free = generator.Generate(["Q: what is 3 plus"], Greedy(30))[0];
        Assert.True(free.Text.Length > 12, $"'{free.Text}' is too short for this test");
        var stop = free.Text.Substring(free.Text.Length / 2, 3);
        var cut = generator.Generate(["Q: what is 3 plus"], Greedy(30) with { StopStrings = [stop] })[0];
        Assert.Equal(FinishReason.Stop, cut.Finish);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.DoesNotContain(stop, cut.Text);
    }

    [Fact]
    public void StreamedPiecesAddUpAndNeverShowPartOfAStopString()
    {
        var free = generator.Generate(["the lazy dog"], Greedy(40))[0];
        var stop = free.Text.Substring(free.Text.Length * 2 / 3, 4);
        var pieces = generator.Stream([generator.EncodePrompt("the lazy dog")], Greedy(40) with { StopStrings = [stop] }).ToList();
        var text = string.Concat(pieces.Select(p => p.Text));
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], text);
        var shown = "";
        foreach (var p in pieces)
        {
            shown += p.Text;
            for (int n = 1; n < stop.Length; n++)
                if (p.Finish is null && shown.EndsWith(stop[..n], StringComparison.Ordinal) && !free.Text.StartsWith(shown + stop[n..], StringComparison.Ordinal))
                    continue;   // a prefix that is not followed by the rest of the stop string may show
            Assert.DoesNotContain(stop, shown);
        }
        Assert.Equal(FinishReason.Stop, pieces[^1].Finish);
    }

    [Fact]
    public void EosEndsTheRowAndIsNotPartOfTheText()
    {
        var free = generator.Generate(["brown fox"], Greedy(20))[0];
        int stopId = free.Tokens[5].Id;
        int at = free.Tokens.Select(t => t.Id).ToList().IndexOf(stopId);
        var ended = generator.Generate(["brown fox"], Greedy(20) with { StopAtEos = true, StopTokenIds = [stopId] })[0];
        Assert.Equal(FinishReason.Eos, ended.Finish);
        Assert.Equal(at + 1, ended.Tokens.Count);
        Assert.Equal(generator.Tokenizer!.Decode(free.Tokens.Take(at).Select(t => t.Id).ToList()), ended.Text);
    }

    [Fact]
    public void LengthEndsTheRowAtTheBudget()
    {
        var c = generator.Generate(["fox"], Greedy(7))[0];
        Assert.Equal(7, c.Tokens.Count);
        Assert.Equal(FinishReason.Length, c.Finish);
        Assert.Equal(generator.Tokenizer!.Decode(c.Tokens.Select(t => t.Id).ToList()), c.Text);
    }

    [Fact]
    public void GenerationStopsAtTheContext()
    {
        var prompt = generator.EncodePrompt(string.Join(" ", Enumerable.Repeat("fox", 30)));
        Assert.InRange(prompt.Length, 20, 63);
        var c = generator.Generate([prompt], Greedy(200))[0];
        Assert.Equal(64 - prompt.Length, c.Tokens.Count);
        Assert.Equal(FinishReason.Length, c.Finish);
    }

    [Fact]
    public void APromptLongerThanTheContextIsAClearErrorOrTruncatedWhenAsked()
    {
        var prompt = generator.EncodePrompt(string.Join(" ", Enumerable.Repeat("lazy dog", 80)));
        Assert.True(prompt.Length > 64);
        var e = Assert.Throws<DeepenException>(() => generator.Generate([prompt], Greedy(4)));
        Assert.Contains($"has {prompt.Length} tokens; the model's context is 64", e.Message);
        var c = generator.Generate([prompt], Greedy(4) with { TruncatePrompt = true })[0];
        Assert.Equal(prompt[^60..], c.PromptIds);
        Assert.Equal(4, c.Tokens.Count);
    }

    [Fact]
    public void EmptyPromptsAndOutOfVocabularyIdsAreClearErrors()
    {
        Assert.Contains("empty", Assert.Throws<DeepenException>(() => generator.Generate([Array.Empty<int>()], Greedy(2))).Message);
        Assert.Contains("outside the model's vocabulary", Assert.Throws<DeepenException>(() => generator.Generate([new[] { 1, 99999 }], Greedy(2))).Message);
        Assert.StartsWith("temperature", Assert.Throws<DeepenException>(() =>
            generator.Generate(["x"], Greedy(2) with { Sampling = new SamplingOptions { Temperature = -1 } })).Message);
    }

    [Fact]
    public void SeedsReproduceSampledTextAndNoise()
    {
        var options = new GenerationOptions
        {
            MaxNewTokens = 24, StopAtEos = false, Seed = 11, Depth = DepthOptions.Fixed(3),   // random state
            Sampling = new SamplingOptions { Temperature = 1.0, TopK = 50, TopP = 0.95, MinP = 0.01, RepetitionPenalty = 1.1 },
        };
        var a = generator.Generate(["the quick"], options)[0];
        var b = generator.Generate(["the quick"], options)[0];
        var c = generator.Generate(["the quick"], options with { Seed = 12 })[0];
        Assert.Equal(a.Tokens.Select(t => t.Id), b.Tokens.Select(t => t.Id));
        Assert.Equal(a.Tokens.Select(t => t.LogProb), b.Tokens.Select(t => t.LogProb));
        Assert.NotEqual(a.Tokens.Select(t => t.Id), c.Tokens.Select(t => t.Id));
    }

    [Fact]
    public async Task TheAsyncStreamEqualsTheSynchronousOneAndHonoursCancellation()
    {
        var options = Greedy(12);
        var sync = generator.Generate(["dog number"], options)[0];
        var streamed = new List<GeneratedToken>();
        await foreach (var t in generator.GenerateAsync("dog number", options)) streamed.Add(t);
        Assert.Equal(sync.Tokens, streamed);

        using var cts = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in generator.GenerateAsync("dog number", options, cts.Token))
                if (++seen == 3) cts.Cancel();
        });
        Assert.Equal(3, seen);
    }

    [Fact]
    public void PromptScoresEqualTheModelsOwnForward()
    {
        var ids = generator.EncodePrompt("what is 4 plus 7");
        var c = generator.Generate([ids, ids[..3]], new GenerationOptions
        {
            MaxNewTokens = 0, PromptLogProbs = true, TopLogProbs = 2, Depth = DepthOptions.Fixed(2, StateInit.Zeros),
        });
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logp = generator.Model.Forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0), DepthOptions.Fixed(2, StateInit.Zeros), null)[0]
            .log_softmax(-1);                                                                // (T, V)
        var scores = c[0].PromptLogProbs!;
        Assert.Null(scores[0].LogProb);
        for (int i = 1; i < ids.Length; i++)
        {
            Assert.Equal(logp[i - 1, ids[i]].item<float>(), scores[i].LogProb!.Value, 4);
            Assert.Equal(logp[i - 1].max().item<float>(), scores[i].Top[0].LogProb, 4);
        }
        Assert.Equal(3, c[1].PromptLogProbs!.Count);   // the shorter, left-padded row is scored on its own tokens
        Assert.Equal(scores[2].LogProb!.Value, c[1].PromptLogProbs![2].LogProb!.Value, 4);
        Assert.Empty(c[0].Tokens);
    }

    [Fact]
    public void ManyStepsLeaveNoLiveTensorsBehind()
    {
        var options = new GenerationOptions
        {
            MaxNewTokens = 40, StopAtEos = false, Seed = 3, Depth = DepthOptions.Adaptive(new ExitCriterion(ExitKind.Kl, 0.05), 4),
            Sampling = new SamplingOptions { Temperature = 0.8, TopK = 20, RepetitionPenalty = 1.2 }, TopLogProbs = 3, PromptLogProbs = true,
        };
        generator.Generate(["warm up"], options);   // lazily created module state, if any
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var c = generator.Generate(["the quick brown", "fox"], options);
        long after = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(40, c[0].Tokens.Count);
        Assert.Equal(before, after);
    }
}
