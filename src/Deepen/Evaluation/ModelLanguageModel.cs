using Deepen.Inference;
using Deepen.Tokenization;
using static TorchSharp.torch;
using Generator = Deepen.Inference.Generator;
using TorchGenerator = TorchSharp.torch.Generator;
using Deepen.Models;

namespace Deepen.Evaluation;

/// <summary>Settings of <see cref="ModelLanguageModel"/>.</summary>
public sealed record ModelLanguageModelOptions
{
    /// <summary>The recurrence (fixed; null = config <c>mean_recurrence</c>) and initial state of a recurrent model.</summary>
    public DepthOptions Depth { get; init; } = new();

    /// <summary>Prompts (or scoring requests) run together.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Seeds the initial-state noise (and sampling, for non-greedy requests) of every call.</summary>
    public long Seed { get; init; }

    /// <summary>The KV cache's memory mode during generation.</summary>
    public KvCacheOptions Cache { get; init; } = new();
}

/// <summary>
/// A Deepen model as the evaluation code sees it (<see cref="ILanguageModel"/>): batched generation with stop strings
/// through <see cref="Generator"/>, and log-likelihoods from one non-cached forward pass over context + continuation,
/// with lm-eval's tokenization of the pair. A recurrent model runs at a fixed recurrence.
/// </summary>
public sealed class ModelLanguageModel : ILanguageModel
{
    private readonly DeepenModel model;
    private readonly TextTokenizer tokenizer;
    private readonly Generator generator;
    private readonly ModelLanguageModelOptions options;

    /// <exception cref="DeepenException">An adaptive depth (evaluation runs at a fixed recurrence) or a batch size below 1.</exception>
    public ModelLanguageModel(DeepenModel model, TextTokenizer tokenizer, ModelLanguageModelOptions? options = null)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options ?? new ModelLanguageModelOptions();
        if (this.options.Depth.Exit is not null) throw new DeepenException("evaluation runs at a fixed recurrence; adaptive depth is not supported here.");
        if (this.options.BatchSize < 1) throw new DeepenException($"batch size {this.options.BatchSize}: expected a positive integer.");
        this.options.Depth.Validate();
        generator = new Generator(model, tokenizer);
    }

    /// <inheritdoc />
    public string Name => model.NameAt(options.Depth);

    /// <inheritdoc />
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<string> prompts, GenerationRequest request)
    {
        var genOptions = new GenerationOptions
        {
            MaxNewTokens = request.MaxNewTokens,
            StopStrings = request.StopStrings,
            StopAtEos = request.StopAtEos,
            Sampling = request.Greedy ? SamplingOptions.Greedy : new SamplingOptions { Temperature = 1.0 },
            Depth = options.Depth,
            Seed = options.Seed,
            TruncatePrompt = true,   // lm-eval keeps the last max_length − max_gen_toks tokens of a long context
            Cache = options.Cache,
        };
        var encoded = prompts.Select(generator.EncodePrompt).ToArray();
        var results = new GenerationResult[prompts.Count];
        foreach (var batch in Batches(encoded.Select(e => e.Length).ToArray()))
        {
            var completions = generator.Generate(batch.Select(i => (IReadOnlyList<int>)encoded[i]).ToList(), genOptions);
            for (int j = 0; j < batch.Length; j++)
                results[batch[j]] = new GenerationResult(completions[j].Text, completions[j].Tokens.Count, completions[j].Finish);
        }
        return results;
    }

    /// <inheritdoc />
    public IReadOnlyList<LogLikelihoodResult> LogLikelihood(IReadOnlyList<(string Context, string Continuation)> requests)
    {
        var pairs = requests.Select(r => EncodePair(r.Context, r.Continuation)).ToArray();
        // The scored window: the last context + 1 tokens of context + continuation (lm-eval's left truncation).
        var windows = pairs.Select(p =>
        {
            var whole = p.Context.Concat(p.Continuation).ToArray();
            return whole.Length > model.ContextLength + 1 ? whole[^(model.ContextLength + 1)..] : whole;
        }).ToArray();
        var results = new LogLikelihoodResult[requests.Count];
        using var noise = new TorchGenerator(unchecked((ulong)options.Seed));
        foreach (var batch in Batches(windows.Select(w => w.Length).ToArray()))
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            int width = Math.Max(1, batch.Max(i => windows[i].Length) - 1);
            var flat = new long[batch.Length * width];   // right-padded: causal attention keeps padding out of real positions
            for (int j = 0; j < batch.Length; j++)
                for (int t = 0; t < windows[batch[j]].Length - 1; t++) flat[j * width + t] = windows[batch[j]][t];
            var ids = tensor(flat, [batch.Length, width], ScalarType.Int64, model.Device);             // (B, W)
            var logp = model.Forward(ids, options.Depth, noise).to_type(ScalarType.Float32).log_softmax(-1);   // (B, W, V)
            for (int j = 0; j < batch.Length; j++)
            {
                int i = batch[j];
                var window = windows[i];
                int n = pairs[i].Continuation.Length, start = window.Length - 1 - n;                   // predictions of the continuation
                var rows = logp[j].narrow(0, start, n);                                                  // (n, V)
                var target = tensor(window[^n..].Select(x => (long)x).ToArray(), device: rows.device);
                double sum = rows.gather(1, target.unsqueeze(1)).sum().item<float>();
                bool greedy = rows.argmax(-1).eq(target).all().item<bool>();
                results[i] = LogLikelihoodResult.For(requests[i].Continuation, sum, n, greedy);
            }
        }
        return results;
    }

    /// <summary>
    /// lm-eval's pair encoding: trailing whitespace of the context moves to the continuation; the continuation's ids
    /// are those of encode(context + continuation) after encode(context)'s; an empty context becomes BOS (or EOS).
    /// </summary>
    public (int[] Context, int[] Continuation) EncodePair(string context, string continuation)
    {
        if (context.Length == 0)
        {
            int prefix = tokenizer.BosId ?? tokenizer.EosId ?? throw new DeepenException("an empty context needs a BOS or EOS token; the tokenizer has neither.");
            return ([prefix], tokenizer.Encode(continuation, addSpecialTokens: false));
        }
        int spaces = context.Length - context.TrimEnd().Length;
        if (spaces > 0) (context, continuation) = (context[..^spaces], context[^spaces..] + continuation);
        var whole = generator.EncodePrompt(context + continuation);
        var ctx = generator.EncodePrompt(context);
        return (ctx, whole[Math.Min(ctx.Length, whole.Length)..]);
    }

    /// <summary>Indices in batches of similar length (longest first), each at most the batch size.</summary>
    private IEnumerable<int[]> Batches(int[] lengths) =>
        Enumerable.Range(0, lengths.Length).OrderByDescending(i => lengths[i]).ThenBy(i => i).Chunk(options.BatchSize);
}
