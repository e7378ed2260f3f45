using Deepen.Evaluation;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tests.Inference;
using static TorchSharp.torch;
using Generator = Deepen.Inference.Generator;
using Deepen.Models;

namespace Deepen.Tests.Evaluation;

/// <summary>
/// The evaluation adapter: log-likelihoods equal a direct log-softmax sum over one unpadded forward (in any batch),
/// greedy flags agree with argmax, lm-eval's pair encoding holds, and generation equals the generator's greedy text.
/// </summary>
public class ModelLanguageModelTests : IClassFixture<GeneratorTests.Model>
{
    private readonly GeneratorTests.Model m;
    public ModelLanguageModelTests(GeneratorTests.Model m) => this.m = m;

    private ModelLanguageModel Adapter(int batch = 3) =>
        new(m.Net, m.Tokenizer, new ModelLanguageModelOptions { Depth = DepthOptions.Fixed(3, StateInit.Zeros), BatchSize = batch });

    private double Direct(int[] context, int[] continuation)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var whole = context.Concat(continuation).Select(i => (long)i).ToArray();
        var logp = m.Net.Forward(tensor(whole).unsqueeze(0), DepthOptions.Fixed(3, StateInit.Zeros), null)[0].log_softmax(-1);   // (T, V)
        double sum = 0;
        for (int i = 0; i < continuation.Length; i++) sum += logp[context.Length - 1 + i, continuation[i]].item<float>();
        return sum;
    }

    [Fact]
    public void LogLikelihoodEqualsADirectComputationInEveryBatch()
    {
        (string, string)[] requests =
        [
            ("Q: what is 3 plus 6? A:", " it is 9."),
            ("The quick brown", " fox"),
            ("lazy ", "dog number 12"),           // trailing space moves to the continuation
            ("", "the quick brown fox"),          // empty context: BOS
            ("Q: what is 10 plus 13? A: it is 23. The quick brown fox jumps over the", " lazy dog number 10."),
        ];
        foreach (int batch in new[] { 1, 2, 8 })
        {
            var adapter = Adapter(batch);
            var results = adapter.LogLikelihood(requests);
            for (int i = 0; i < requests.Length; i++)
            {
                var (ctx, cont) = adapter.EncodePair(requests[i].Item1, requests[i].Item2);
                Assert.Equal(cont.Length, results[i].TokenCount);
                Assert.Equal(Direct(ctx, cont), results[i].LogProb, 3);
                Assert.Equal(requests[i].Item2.Length, results[i].CharLength);
            }
        }
    }

    [Fact]
    public void PairEncodingFollowsLmEval()
    {
        var adapter = Adapter();
        var (ctx, cont) = adapter.EncodePair("lazy ", "dog");
        Assert.Equal(new Generator(m.Net, m.Tokenizer).EncodePrompt("lazy"), ctx);
        Assert.Equal(m.Tokenizer.Encode(" dog", addSpecialTokens: false), cont);
        var (empty, all) = adapter.EncodePair("", "fox");
        Assert.Equal([m.Tokenizer.BosId!.Value], empty);
        Assert.Equal(m.Tokenizer.Encode("fox", addSpecialTokens: false), all);
    }

    [Fact]
    public void GreedyContinuationsAreFlaggedGreedy()
    {
        var adapter = Adapter();
        var generated = adapter.Generate(["Q: what is 5 plus"], new GenerationRequest([], MaxNewTokens: 6, StopAtEos: false))[0];
        var results = adapter.LogLikelihood([("Q: what is 5 plus", generated.Text), ("Q: what is 5 plus", generated.Text + "zz")]);
        Assert.True(results[0].IsGreedy, $"'{generated.Text}' should be greedy");
        Assert.False(results[1].IsGreedy);
    }

    [Fact]
    public void GenerateEqualsTheGeneratorsGreedyTextInAnyBatch()
    {
        string[] prompts = ["Q: what is 1 plus", "The quick", "dog number 3", "Q: what is 20 plus 23? A:"];
        var request = new GenerationRequest(["fox"], MaxNewTokens: 12);
        var expected = prompts.Select(p => new Generator(m.Net, m.Tokenizer).Generate([p], new GenerationOptions
        {
            MaxNewTokens = 12, StopStrings = ["fox"], Depth = DepthOptions.Fixed(3, StateInit.Zeros),
        })[0].Text).ToList();
        Assert.Equal(expected, Adapter(batch: 1).Generate(prompts, request).Select(r => r.Text));
        Assert.Equal(expected, Adapter(batch: 4).Generate(prompts, request).Select(r => r.Text));
        Assert.Equal($"{Path.GetFileName(m.Files.Dir)}@r3", Adapter().Name);
    }

    [Fact]
    public void AdaptiveDepthIsRefused()
    {
        var e = Assert.Throws<DeepenException>(() => new ModelLanguageModel(m.Net, m.Tokenizer,
            new ModelLanguageModelOptions { Depth = DepthOptions.Adaptive(ExitCriterion.Parse("kl"), 8) }));
        Assert.Contains("fixed recurrence", e.Message);
    }
}
