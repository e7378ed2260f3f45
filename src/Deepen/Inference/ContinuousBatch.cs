using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;
using Deepen.Models;
using Deepen.Modeling;

namespace Deepen.Inference;

/// <summary>
/// One prompt's generation inside a <see cref="ContinuousBatch"/>: its settings, its own seeded generators, the
/// tokens made so far, and the callback that receives each token as it is made.
/// </summary>
public sealed class BatchSequence : IDisposable
{
    internal BatchSequence(int choice, SequenceState state, GenerationOptions options, Action<GeneratedToken>? onToken)
    {
        Choice = choice;
        State = state;
        Options = options;
        OnToken = onToken;
        (Noise, Draws) = Generator.SeededGenerators(options.Seed);
    }

    /// <summary>The row number its tokens report (<see cref="GeneratedToken.Row"/>): the prompt's index in its request.</summary>
    public int Choice { get; }

    /// <summary>The settings it was joined with.</summary>
    public GenerationOptions Options { get; }

    internal SequenceState State { get; }
    internal TorchGenerator Noise { get; }
    internal TorchGenerator Draws { get; }
    internal Action<GeneratedToken>? OnToken { get; }

    /// <summary>The prompt's tokens scored (only with <see cref="GenerationOptions.PromptLogProbs"/>).</summary>
    public IReadOnlyList<PromptTokenScore>? PromptLogProbs { get; internal set; }

    /// <summary>Tokens made so far.</summary>
    public List<GeneratedToken> Tokens { get; } = [];

    /// <summary>Whether it has ended (or left the batch).</summary>
    public bool Finished => State.Finished || Left;

    internal bool Left { get; set; }

    /// <summary>The finished generation.</summary>
    public Completion ToCompletion() => Completion.Of(State.Prompt, Tokens, PromptLogProbs);

    internal void Emit(GeneratedToken t)
    {
        Tokens.Add(t);
        OnToken?.Invoke(t);
    }

    /// <summary>Frees its generators.</summary>
    public void Dispose()
    {
        Noise.Dispose();
        Draws.Dispose();
    }
}

/// <summary>
/// Continuous batching (as vLLM's scheduler does it, at token boundaries): sequences join a running decode batch
/// and leave it when done, each with its own sampling settings, stop strings, token budget, recurrence and seed.
/// Joining prompts are prefilled together, left-padded, each with its own noise (so each row's prefill is its
/// one-at-a-time prefill up to float rounding), then their KV cache is appended to the batch's (<see cref="KvCache.Append"/>); every <see cref="Step"/> then decodes one token for
/// every row at once, each row at its own recurrence (<see cref="RowSettings"/>), with its own noise and draws.
/// A greedy row's tokens are therefore those it would get alone, whatever else is in the batch (up to float
/// rounding of the batched matmuls, which the tests check does not change a token).
/// <para>With a prefix-cache budget, the keys and values of joined prompts are kept (<see cref="PrefixCache"/>), and a
/// later join whose prompts start with cached tokens prefills only the rest (chunked prefill onto the preloaded
/// cache), where each row's prefill is a function of its tokens alone (<see cref="Reusable"/>).</para>
/// </summary>
/// <remarks>
/// The batch-wide settings are the adaptive exit, the initial state and the KV cache mode: a sequence may join
/// only a batch whose first sequence has the same ones (<see cref="Accepts"/>), and only with the KV cache on.
/// Not thread-safe: one thread (the server's model worker) drives it. Each join and step runs in its own dispose
/// scope and <c>no_grad</c>; only the cache buffers and the generators outlive them.
/// </remarks>
public sealed class ContinuousBatch(Generator generator, long prefixCacheTokens = 0) : IDisposable
{
    private readonly List<BatchSequence> rows = [];
    private readonly PrefixCache? prefixes = prefixCacheTokens > 0 ? new PrefixCache(prefixCacheTokens) : null;
    private KvCache? cache;

    /// <summary>Prompt tokens whose keys and values came from the prefix cache instead of a prefill, since the batch was made.</summary>
    public long PrefixTokensReused { get; private set; }

    /// <summary>Prompt tokens the prefix cache holds now (at most the budget it was made with; 0 without one).</summary>
    public long PrefixCacheTokens => prefixes?.Tokens ?? 0;

    /// <summary>Tensors the batch keeps on purpose between requests (the prefix cache's, bounded by its budget); the running rows' cache is not counted.</summary>
    public int HeldTensors => prefixes?.TensorCount ?? 0;

    /// <summary>Sequences decoding now.</summary>
    public int Count => rows.Count;

    /// <summary>The sequences decoding now, in batch order.</summary>
    public IReadOnlyList<BatchSequence> Rows => rows;

    /// <summary>Whether a sequence with <paramref name="options"/> can be batched at all (it needs the KV cache).</summary>
    public static bool CanBatch(GenerationOptions options) => options.UseCache;

    /// <summary>Whether a sequence with <paramref name="options"/> may join now: batchable, and the same batch-wide settings as the running rows.</summary>
    public bool Accepts(GenerationOptions options) =>
        CanBatch(options) && (rows.Count == 0 || SameBatchSettings(rows[0].Options, options));

    /// <summary>Whether two sequences can share a batch: the same adaptive exit, initial state and KV cache mode.</summary>
    public static bool SameBatchSettings(GenerationOptions a, GenerationOptions b) =>
        Equals(a.Depth.Exit, b.Depth.Exit) && a.Depth.InitialState == b.Depth.InitialState
        && a.Cache.KeepIterations == b.Cache.KeepIterations;

    /// <summary>
    /// Checks <paramref name="prompt"/> and <paramref name="options"/> and makes the sequence, not yet running:
    /// pass it to <see cref="Join(IReadOnlyList{BatchSequence})"/>. Its tokens go to <paramref name="onToken"/> as
    /// they are made.
    /// </summary>
    /// <exception cref="DeepenException">Invalid options or prompt.</exception>
    public BatchSequence Prepare(int choice, IReadOnlyList<int> prompt, GenerationOptions options, Action<GeneratedToken>? onToken = null)
    {
        options.Validate();
        if (!CanBatch(options)) throw new InvalidOperationException("ContinuousBatch.Prepare: a batched sequence needs the KV cache.");
        var ids = generator.PreparePrompts([prompt], options)[0];
        return new BatchSequence(choice, new SequenceState(ids, options, generator.Tokenizer, generator.EndIds(options), generator.Model.ContextLength), options, onToken);
    }

    /// <summary>Prepares and joins one prompt (<see cref="Prepare"/>, <see cref="Join(IReadOnlyList{BatchSequence})"/>).</summary>
    public BatchSequence Join(int choice, IReadOnlyList<int> prompt, GenerationOptions options, Action<GeneratedToken>? onToken = null)
    {
        var seq = Prepare(choice, prompt, options, onToken);
        Join([seq]);
        return seq;
    }

    /// <summary>
    /// Prefills <paramref name="joining"/> together (left-padded, each row at its own recurrence and with its own
    /// noise, drawn for its real tokens only, as alone) and chooses each one's first token; those that this does
    /// not end (or that ask for no new tokens) join the batch.
    /// </summary>
    public void Join(IReadOnlyList<BatchSequence> joining)
    {
        if (joining.Count == 0) return;
        foreach (var s in joining)
            if (!Accepts(s.Options) || !SameBatchSettings(joining[0].Options, s.Options))
                throw new InvalidOperationException("ContinuousBatch.Join: these options cannot join the running batch (check Accepts first).");
        var model = generator.Model;
        var prompts = joining.Select(s => s.State.Prompt).ToArray();
        int n = prompts.Length, longest = prompts.Max(p => p.Length);
        var leftPad = prompts.Select(p => longest - p.Length).ToArray();
        var recurrence = joining.Select(s => model.ResolveRecurrence(s.Options.Depth)).ToArray();
        var depth = joining[0].Options.Depth with { Recurrence = recurrence.Max() };
        KvCache? own = null;
        try
        {
            own = model.NewCache(n, leftPad, longest + joining.Max(s => s.Options.MaxNewTokens), depth, joining[0].Options.Cache);
            var (reused, cached) = ReusablePrefix(joining, recurrence, leftPad, longest);
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                if (reused > 0) own.Preload(cached, reused);
                int computed = longest - reused;                                                          // positions [reused, longest) are prefilled now
                var padded = Generator.Pad(prompts, longest, fill: 0);
                var input = tensor(padded, [n, longest], ScalarType.Int64, model.Device).narrow(1, reused, computed);   // (N, T'), padding hidden by the cache
                bool scores = joining.Any(s => s.Options.PromptLogProbs);
                var settings = new RowSettings(recurrence, joining.Select(s => (TorchGenerator?)s.Noise).ToArray())
                {
                    LeftPad = leftPad.Select(p => Math.Max(0, p - reused)).ToArray(),
                };
                var output = model.Step(input, own, depth, null, scores, settings);
                if (prefixes is not null)
                    for (int b = 0; b < n; b++)
                        if (Reusable(joining[b].Options))
                        {
                            int row = b;
                            prefixes.Add(prompts[b], recurrence[b], () => own.SnapshotRow(row, prompts[row].Length));
                        }
                PrefixTokensReused += leftPad.Sum(p => Math.Max(0, reused - p));
                var last = scores ? output.Logits[.., -1] : output.Logits;                              // (N, V)
                for (int b = 0; b < n; b++)
                {
                    var seq = joining[b];
                    if (seq.Options.PromptLogProbs)
                        seq.PromptLogProbs = Generator.ScorePrompts(output.Logits.narrow(0, b, 1), [prompts[b]], [leftPad[b]], seq.Options.TopLogProbs)[0];
                    if (seq.Options.MaxNewTokens == 0) seq.Left = true;
                    else seq.Emit(Choose(seq, last.narrow(0, b, 1), output.Depth[b]));
                }
            }
            var staying = Enumerable.Range(0, n).Where(b => !joining[b].Finished).ToList();
            if (staying.Count == 0) return;
            if (staying.Count < n) own.KeepRows(staying);
            if (cache is null) { cache = own; own = null; }
            else
            {
                cache.GrowCoreEntries(own.CoreEntriesPerLayer);
                own.GrowCoreEntries(cache.CoreEntriesPerLayer);
                cache.Append(own);
            }
            rows.AddRange(staying.Select(b => joining[b]));
        }
        finally
        {
            own?.Dispose();
            foreach (var s in joining)
                if (!rows.Contains(s)) s.Dispose();   // it ended at once, or the join failed
        }
    }

    /// <summary>
    /// How many leading positions of the joiners' left-padded prompts the prefix cache can supply, and each row's
    /// cached prefix: every row that qualifies shares all but its last token at most with a cached prompt at its
    /// recurrence, and the group starts its prefill at the first position some row cannot take from the cache (a
    /// row that does not qualify, or shares nothing, holds it at its left padding, so all its tokens are computed).
    /// </summary>
    private (int Positions, KvPrefix?[] Prefixes) ReusablePrefix(IReadOnlyList<BatchSequence> joining, int[] recurrence, int[] leftPad, int longest)
    {
        var found = new KvPrefix?[joining.Count];
        if (prefixes is null || joining.Any(s => s.Options.PromptLogProbs)) return (0, found);   // scoring needs every position's logits
        int positions = longest - 1;
        for (int b = 0; b < joining.Count && positions > 0; b++)
        {
            var prompt = joining[b].State.Prompt;
            int shared = 0;
            if (Reusable(joining[b].Options)) (found[b], shared) = prefixes.Longest(prompt, recurrence[b]);
            positions = Math.Min(positions, leftPad[b] + Math.Min(shared, prompt.Length - 1));
        }
        return (Math.Max(0, positions), found);
    }

    /// <summary>
    /// Whether a row's prompt keys and values may come from the cache or go into it: its prefill must be a function of
    /// its tokens alone. So not when it scores its prompt (that needs every position's logits), and on a recurrent
    /// model only at a fixed depth (an adaptive exit is decided over the whole step), from zero initial states (the
    /// random ones are drawn per prompt token from the row's own seed) and with the full cache (the memory-saving
    /// one lets a step's later positions see its earlier positions' newer iterations).
    /// </summary>
    private bool Reusable(GenerationOptions options) =>
        !options.PromptLogProbs && (!generator.Model.IsRecurrent
            || (options.Depth.Exit is null && options.Depth.InitialState == StateInit.Zeros && options.Cache.KeepIterations is null));

    /// <summary>Decodes one token for every row; rows that end leave the batch. Returns the rows that ended.</summary>
    public IReadOnlyList<BatchSequence> Step()
    {
        if (rows.Count == 0) return [];
        var model = generator.Model;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var last = rows.Select(r => (long)r.State.History[^1]).ToArray();
            var input = tensor(last, [rows.Count, 1], ScalarType.Int64, model.Device);                 // (B, 1)
            var settings = new RowSettings(
                rows.Select(r => model.ResolveRecurrence(r.Options.Depth)).ToArray(),
                rows.Select(r => (TorchGenerator?)r.Noise).ToArray());
            var output = model.Step(input, cache!, rows[0].Options.Depth, null, rows: settings);         // logits (B, V)
            var plain = ChoosePlainGreedy(output.Logits);
            for (int b = 0; b < rows.Count; b++)
                rows[b].Emit(plain[b] is var (id, logProb)
                    ? rows[b].State.Accept(rows[b].Choice, id, output.Depth[b], logProb, null)
                    : Choose(rows[b], output.Logits.narrow(0, b, 1), output.Depth[b]));
        }
        var ended = rows.Where(r => r.Finished).ToList();
        Drop(ended);
        return ended;
    }

    /// <summary>Takes <paramref name="leaving"/> out of the batch (cancelled requests); their tokens so far stay.</summary>
    public void Leave(IReadOnlyCollection<BatchSequence> leaving)
    {
        foreach (var s in leaving) s.Left = true;
        Drop(leaving.Where(rows.Contains).ToList());
    }

    private void Drop(IReadOnlyList<BatchSequence> leaving)
    {
        if (leaving.Count == 0) return;
        var keep = Enumerable.Range(0, rows.Count).Where(b => !leaving.Contains(rows[b])).ToList();
        if (keep.Count == 0) { cache?.Dispose(); cache = null; }
        else cache!.KeepRows(keep);
        foreach (var s in leaving) { rows.Remove(s); s.Dispose(); }
    }

    /// <summary>
    /// The rows that need nothing but the argmax (greedy, no repetition penalty, no alternatives) chosen together:
    /// one log-softmax, argmax and host copy for all of them instead of one per row. Both are row-wise, so each
    /// row's values are those of <see cref="Choose"/>. Null for the other rows.
    /// </summary>
    private (int Id, double LogProb)?[] ChoosePlainGreedy(Tensor logits)
    {
        var result = new (int, double)?[rows.Count];
        var plain = Enumerable.Range(0, rows.Count).Where(b => rows[b].Options is { Sampling: { IsGreedy: true, RepetitionPenalty: 1.0 }, TopLogProbs: 0 }).ToArray();
        if (plain.Length < 2) return result;
        var index = tensor(plain.Select(b => (long)b).ToArray(), device: logits.device);
        var picked = logits.index_select(0, index);                                                   // (P, V)
        var logp = picked.to_type(ScalarType.Float32).log_softmax(-1);                                 // (P, V)
        var processed = Sampler.Process(picked, SamplingOptions.Greedy, null, generator.AllowedVocab);
        var next = processed.argmax(-1, keepdim: true);                                                // (P, 1)
        var chosen = logp.gather(1, next);                                                             // (P, 1)
        var ids = next.cpu().data<long>().ToArray();
        var lps = chosen.cpu().data<float>().ToArray();
        for (int i = 0; i < plain.Length; i++) result[plain[i]] = ((int)ids[i], lps[i]);
        return result;
    }

    /// <summary>The row's next token from its logits (1, V), as <see cref="Generator"/> chooses it for a row alone.</summary>
    private GeneratedToken Choose(BatchSequence seq, Tensor logits, int depth)
    {
        var sampling = seq.Options.Sampling;
        var logp = logits.to_type(ScalarType.Float32).log_softmax(-1);                                 // (1, V)
        var processed = Sampler.Process(logits, sampling, [seq.State.History], generator.AllowedVocab);
        long next = Sampler.Choose(processed, sampling, seq.Draws)[0];
        double chosen = logp.gather(1, tensor(new[] { next }, [1, 1], device: logp.device)).cpu().data<float>()[0];
        var top = seq.Options.TopLogProbs > 0 ? Generator.TopAlternatives(logp, seq.Options.TopLogProbs)[0] : null;
        return seq.State.Accept(seq.Choice, (int)next, depth, chosen, top);
    }

    /// <summary>Frees the cache and every running sequence's generators.</summary>
    public void Dispose()
    {
        cache?.Dispose();
        cache = null;
        prefixes?.Dispose();
        foreach (var s in rows) { s.Left = true; s.Dispose(); }
        rows.Clear();
    }
}
