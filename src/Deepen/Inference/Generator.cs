using System.Runtime.CompilerServices;
using Deepen.Tokenization;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;
using Deepen.Models;

namespace Deepen.Inference;

/// <summary>
/// Generates text with an <see cref="DeepenModel"/>: a batch of prompts, left-padded, is prefilled once and then
/// extended one token per row and step through a <see cref="KvCache"/>; tokens are chosen by
/// <see cref="SamplingOptions"/> and streamed as they are made. Rows end at EOS, a stop string, the token
/// budget or the model's context.
/// </summary>
/// <remarks>
/// Each step runs synchronously on the thread that advances the enumeration, inside its own dispose scope and
/// <c>no_grad</c>; only the cache's buffers outlive a step, and they are freed when the enumeration ends or is
/// disposed. <see cref="GenerateAsync(string, GenerationOptions, CancellationToken)"/> therefore computes in
/// <c>MoveNextAsync</c>; wrap it in <c>Task.Run</c> to keep a UI thread free.
/// </remarks>
public sealed class Generator(DeepenModel model, TextTokenizer? tokenizer = null)
{
    /// <summary>The model.</summary>
    public DeepenModel Model { get; } = model;

    /// <summary>The tokenizer (null: ids only; no text, no stop strings).</summary>
    public TextTokenizer? Tokenizer { get; } = tokenizer;

    /// <summary>A prompt's ids: BOS when the tokenizer adds one, then the text's tokens (never a trailing EOS).</summary>
    public int[] EncodePrompt(string text)
    {
        var tok = Tokenizer ?? throw new DeepenException("a text prompt needs a tokenizer; this generator has none.");
        var body = tok.Encode(text, addSpecialTokens: false);
        return tok.AddsBos && tok.BosId is int bos ? [bos, .. body] : body;
    }

    /// <summary>Streams the tokens of one text prompt.</summary>
    public IAsyncEnumerable<GeneratedToken> GenerateAsync(string prompt, GenerationOptions options, CancellationToken cancellation = default) =>
        GenerateAsync([EncodePrompt(prompt)], options, cancellation);

    /// <summary>Streams the tokens of a batch of prompts (token ids), interleaved by step; <see cref="GeneratedToken.Row"/> says whose.</summary>
    public IAsyncEnumerable<GeneratedToken> GenerateAsync(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, CancellationToken cancellation = default) =>
        new SynchronousAsyncEnumerable<GeneratedToken>(token => Stream(prompts, options, token), cancellation);

    /// <summary>The same stream as <see cref="GenerateAsync(IReadOnlyList{IReadOnlyList{int}}, GenerationOptions, CancellationToken)"/>, synchronously.</summary>
    public IEnumerable<GeneratedToken> Stream(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, CancellationToken cancellation = default) =>
        Run(prompts, options, null, cancellation);

    /// <summary>Generates text prompts to completion.</summary>
    public IReadOnlyList<Completion> Generate(IReadOnlyList<string> prompts, GenerationOptions options, CancellationToken cancellation = default) =>
        Generate(prompts.Select(p => (IReadOnlyList<int>)EncodePrompt(p)).ToList(), options, cancellation);

    /// <summary>Generates token prompts to completion (with prompt scores when <see cref="GenerationOptions.PromptLogProbs"/>).</summary>
    public IReadOnlyList<Completion> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, CancellationToken cancellation = default)
    {
        var tokens = prompts.Select(_ => new List<GeneratedToken>()).ToArray();
        var scores = new IReadOnlyList<PromptTokenScore>?[prompts.Count];
        var promptIds = new int[prompts.Count][];
        foreach (var t in Run(prompts, options, (row, ids, s) => { promptIds[row] = ids; scores[row] = s; }, cancellation))
            tokens[t.Row].Add(t);
        return tokens.Select((list, row) => Completion.Of(promptIds[row], list, scores[row])).ToList();
    }

    private IEnumerable<GeneratedToken> Run(
        IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options,
        Action<int, int[], IReadOnlyList<PromptTokenScore>?>? onPrompt, CancellationToken cancellation)
    {
        options.Validate();
        if (prompts.Count == 0) yield break;
        var rows = PreparePrompts(prompts, options);
        int batch = rows.Length, longest = rows.Max(r => r.Length);
        var leftPad = rows.Select(r => longest - r.Length).ToArray();
        var eos = EndIds(options);
        int fill = Tokenizer?.PadId ?? eos.FirstOrDefault();
        var states = rows.Select(r => new SequenceState(r, options, Tokenizer, eos, Model.ContextLength)).ToArray();
        var history = states.Select(st => st.History).ToArray();
        int? allowedVocab = AllowedVocab;

        var (noiseGenerator, drawsGenerator) = SeededGenerators(options.Seed);
        using var noise = noiseGenerator;
        using var draws = drawsGenerator;
        using var cache = options.UseCache ? Model.NewCache(batch, leftPad, longest + options.MaxNewTokens, options.Depth, options.Cache) : null;

        long[] input = Pad(rows, longest, fill);   // (B, T) row-major: the prompts first, then one token per row
        long inputLength = longest;
        bool first = true;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var events = new List<GeneratedToken>(batch);
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var ids = tensor(input, [batch, inputLength], ScalarType.Int64, Model.Device);   // (B, T)
                bool scorePrompt = first && options.PromptLogProbs;
                StepOutput output;
                if (cache is not null) output = Model.Step(ids, cache, options.Depth, noise, scorePrompt);
                else
                {
                    // No cache: the whole sequence so far, left-padded afresh, through a throwaway cache.
                    int width = history.Max(h => h.Count);
                    var whole = tensor(Pad(history, width, fill), [batch, width], ScalarType.Int64, Model.Device);   // (B, width)
                    using var fresh = Model.NewCache(batch, history.Select(h => width - h.Count).ToArray(), width, options.Depth, options.Cache);
                    output = Model.Step(whole, fresh, options.Depth, noise, scorePrompt);
                }
                var logits = output.Logits;
                if (scorePrompt)
                {
                    var scores = ScorePrompts(logits, rows, leftPad, options.TopLogProbs);
                    for (int b = 0; b < batch; b++) onPrompt?.Invoke(b, rows[b], scores[b]);
                    logits = logits[.., -1];                                                        // (B, V)
                }
                else if (first) for (int b = 0; b < batch; b++) onPrompt?.Invoke(b, rows[b], null);
                first = false;
                if (options.MaxNewTokens == 0) yield break;

                var logp = logits.to_type(ScalarType.Float32).log_softmax(-1);                     // (B, V)
                var processed = Sampler.Process(logits, options.Sampling, history, allowedVocab);
                var next = Sampler.Choose(processed, options.Sampling, draws);
                var chosen = logp.gather(1, tensor(next, [batch, 1], device: logp.device)).cpu().data<float>().ToArray();
                IReadOnlyList<TokenLogProb>[]? top = options.TopLogProbs > 0 ? TopAlternatives(logp, options.TopLogProbs) : null;

                for (int b = 0; b < batch; b++)
                    if (!states[b].Finished) events.Add(states[b].Accept(b, (int)next[b], output.Depth[b], chosen[b], top?[b]));
                input = next.Select((id, b) => states[b].Finished ? fill : id).ToArray();
                inputLength = 1;
            }
            foreach (var e in events) yield return e;
            if (states.All(st => st.Finished)) yield break;
        }
    }

    /// <summary>Ids the tokenizer can decode, when the LM head has more rows (padded vocabularies); null: all.</summary>
    internal int? AllowedVocab => Tokenizer is { } tk && tk.VocabSize < Model.VocabSize ? tk.VocabSize : null;

    /// <summary>A generation's two generators: the initial-state noise and the sampling draws, both from <paramref name="seed"/> (null: a random one).</summary>
    internal static (TorchGenerator Noise, TorchGenerator Draws) SeededGenerators(long? seed)
    {
        long s = seed ?? Random.Shared.NextInt64();
        return (new TorchGenerator(unchecked((ulong)s)), new TorchGenerator(unchecked((ulong)s * 0x9E3779B97F4A7C15UL + 1)));
    }

    /// <summary>Checks the options against the tokenizer, and the prompts against the vocabulary and the context; truncates from the left when asked.</summary>
    internal int[][] PreparePrompts(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options)
    {
        if (options.StopStrings.Count > 0 && Tokenizer is null)
            throw new DeepenException("stop strings need a tokenizer; this generator has none.");
        int context = Model.ContextLength;
        var rows = new int[prompts.Count][];
        for (int i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i];
            if (p.Count == 0) throw new DeepenException($"prompt {i} is empty: at least one token is needed.");
            foreach (var id in p)
                if (id < 0 || id >= Model.VocabSize)
                    throw new DeepenException($"prompt {i}: token id {id} is outside the model's vocabulary [0, {Model.VocabSize}).");
            if (p.Count >= context)
            {
                if (!options.TruncatePrompt)
                    throw new DeepenException(
                        $"prompt {i} has {p.Count} tokens; the model's context is {context} tokens (max_position_embeddings), "
                        + "so at most " + (context - 1) + " fit with room to generate. Shorten it, or ask for truncation (`truncate`).");
                int keep = Math.Max(1, context - Math.Max(1, options.MaxNewTokens));
                rows[i] = p.Skip(p.Count - keep).ToArray();
            }
            else rows[i] = p.ToArray();
        }
        return rows;
    }

    internal HashSet<int> EndIds(GenerationOptions options)
    {
        var ids = new HashSet<int>(Model.EosTokenIds);
        if (Tokenizer?.EosId is int e) ids.Add(e);
        ids.UnionWith(options.StopTokenIds);
        return ids;
    }

    /// <summary>The rows left-padded with <paramref name="fill"/> to <paramref name="width"/>, flattened row-major: (B·width).</summary>
    internal static long[] Pad(IReadOnlyList<IReadOnlyList<int>> rows, int width, int fill)
    {
        var flat = new long[rows.Count * (long)width];
        for (int b = 0; b < rows.Count; b++)
        {
            int pad = width - rows[b].Count;
            for (int j = 0; j < width; j++) flat[b * (long)width + j] = j < pad ? fill : rows[b][j - pad];
        }
        return flat;
    }

    internal static IReadOnlyList<PromptTokenScore>[] ScorePrompts(Tensor logits, int[][] rows, int[] leftPad, int topN)
    {
        var logp = logits.to_type(ScalarType.Float32).log_softmax(-1);                  // (B, T, V)
        var result = new IReadOnlyList<PromptTokenScore>[rows.Length];
        for (int b = 0; b < rows.Length; b++)
        {
            var row = rows[b];
            var list = new List<PromptTokenScore>(row.Length) { new(row[0], null, []) };
            if (row.Length > 1)
            {
                var lp = logp[b].narrow(0, leftPad[b], row.Length - 1);                    // (n−1, V): predictions of tokens 1..n−1
                var target = tensor(row.Skip(1).Select(i => (long)i).ToArray(), device: lp.device).unsqueeze(1);
                var got = lp.gather(1, target).squeeze(1).cpu().data<float>().ToArray();
                var top = topN > 0 ? TopAlternatives(lp, topN) : null;
                for (int i = 1; i < row.Length; i++) list.Add(new(row[i], got[i - 1], top?[i - 1] ?? []));
            }
            result[b] = list;
        }
        return result;
    }

    internal static IReadOnlyList<TokenLogProb>[] TopAlternatives(Tensor logp, int n)
    {
        var (values, indices) = logp.topk(Math.Min(n, (int)logp.shape[^1]), dim: -1);   // (N, n) ×2
        var v = values.cpu().data<float>().ToArray();
        var ix = indices.cpu().data<long>().ToArray();
        int k = (int)values.shape[^1], rows = (int)values.shape[0];
        var result = new IReadOnlyList<TokenLogProb>[rows];
        for (int r = 0; r < rows; r++)
            result[r] = Enumerable.Range(0, k).Select(j => new TokenLogProb((int)ix[r * k + j], v[r * k + j])).ToArray();
        return result;
    }
}

/// <summary>An <see cref="IAsyncEnumerable{T}"/> over a synchronous sequence: each <c>MoveNextAsync</c> computes the next item on the calling thread.</summary>
internal sealed class SynchronousAsyncEnumerable<T>(Func<CancellationToken, IEnumerable<T>> source, CancellationToken outer) : IAsyncEnumerable<T>
{
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        var linked = CancellationTokenSource.CreateLinkedTokenSource(outer, cancellationToken);
        return new Enumerator(source(linked.Token).GetEnumerator(), linked);
    }

    private sealed class Enumerator(IEnumerator<T> inner, CancellationTokenSource linked) : IAsyncEnumerator<T>
    {
        public T Current => inner.Current;

        public ValueTask<bool> MoveNextAsync()
        {
            linked.Token.ThrowIfCancellationRequested();
            return ValueTask.FromResult(inner.MoveNext());
        }

        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            linked.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
