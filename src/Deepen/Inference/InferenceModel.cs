using Deepen.Checkpoints;
using Deepen.Modeling;
using TorchSharp;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;
using Deepen.Torch;

namespace Deepen.Inference;

/// <summary>One step's result: logits of the step's last position (B, V), or of every position (B, T, V), and the iterations each row ran.</summary>
/// <param name="Logits">(B, V) or (B, T, V), in the model's dtype.</param>
/// <param name="Depth">Iterations each row's step ran (1 for a plain model).</param>
public sealed record StepOutput(Tensor Logits, int[] Depth);

/// <summary>
/// Per-row settings of a batched step (continuous batching): each row's own recurrence and its own generator for
/// the initial-state noise, so a row's step is the step it would run alone. Plain models ignore them.
/// </summary>
/// <param name="Recurrence">Iterations for each row (with an adaptive exit: each row's maximum).</param>
/// <param name="Noise">Each row's noise generator (null: the default generator).</param>
public sealed record RowSettings(int[] Recurrence, TorchGenerator?[] Noise)
{
    /// <summary>Padding positions at the start of each row (null: none): a row's noise is drawn for its real positions only, as alone, and padding starts from zeros.</summary>
    public int[]? LeftPad { get; init; }
}

/// <summary>
/// A causal language model as generation sees it: a plain model (<see cref="LlamaModel"/>) or a recurrent one
/// (<see cref="RecurrentModel"/>), stepped with a <see cref="KvCache"/>. <see cref="Forward"/> is the model's own
/// non-cached forward over whole sequences.
/// </summary>
public abstract class InferenceModel : IDisposable
{
    private readonly nn.Module module;
    private readonly bool ownsModule;

    private protected InferenceModel(nn.Module module, string name, bool ownsModule)
    {
        this.module = module;
        this.ownsModule = ownsModule;
        Name = name;
        var weight = module.parameters().First();
        Device = weight.device;
        DType = weight.dtype;
    }

    /// <summary>A short name (the model directory's name).</summary>
    public string Name { get; }

    /// <summary>The device the weights live on.</summary>
    public Device Device { get; }

    /// <summary>The weights' dtype.</summary>
    public ScalarType DType { get; }

    /// <summary>Rows of the LM head (the model's, possibly padded, vocabulary).</summary>
    public abstract int VocabSize { get; }

    /// <summary>Positions the model was configured for (<c>max_position_embeddings</c>).</summary>
    public abstract int ContextLength { get; }

    /// <summary>End-of-sequence ids from config.json.</summary>
    public abstract IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Whether this is a depth-recurrent model.</summary>
    public abstract bool IsRecurrent { get; }

    /// <summary>Iterations a step runs without an explicit recurrence (config <c>mean_recurrence</c>; 1 for a plain model).</summary>
    public abstract int DefaultRecurrence { get; }

    /// <summary>An empty cache for <paramref name="batch"/> rows, sized for the depth the steps will run.</summary>
    public abstract KvCache NewCache(int batch, IReadOnlyList<int>? leftPad, long capacity, DepthOptions depth, KvCacheOptions? options = null);

    /// <summary>
    /// Runs <paramref name="ids"/> (B, T) as the next T positions of every row, reading and extending
    /// <paramref name="cache"/>. <paramref name="noise"/> draws the new tokens' initial states (recurrent models,
    /// <see cref="StateInit.Random"/>). <paramref name="rows"/>, when given, overrides the recurrence and the noise row
    /// by row. Call inside <c>no_grad</c> and a dispose scope.
    /// </summary>
    public abstract StepOutput Step(Tensor ids, KvCache cache, DepthOptions depth, TorchGenerator? noise, bool allLogits = false, RowSettings? rows = null);

    /// <summary>The model's own non-cached forward: ids (B, T) → logits (B, T, V) at a fixed depth.</summary>
    public abstract Tensor Forward(Tensor ids, DepthOptions depth, TorchGenerator? noise);

    /// <summary>The recurrence a step runs (fixed) or may run (adaptive): the option, else <see cref="DefaultRecurrence"/>.</summary>
    public int ResolveRecurrence(DepthOptions depth) => IsRecurrent ? depth.Recurrence ?? DefaultRecurrence : 1;

    /// <summary>The recurrences to evaluate of those asked: all of them, or the one depth a plain model has.</summary>
    public IReadOnlyList<int> Recurrences(IReadOnlyList<int> asked) => IsRecurrent ? asked : [1];

    /// <summary>The model's name at a depth, for tables: "name@r4", or the plain model's name.</summary>
    public string NameAt(DepthOptions depth) => IsRecurrent ? $"{Name}@r{ResolveRecurrence(depth)}" : Name;

    /// <summary>Loads a model directory: recurrent (Raven layout) or plain (HF Llama/OLMo-2).</summary>
    public static InferenceModel Load(string dir, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
        return RecurrentCheckpoint.IsRecurrent(dir)
            ? new RecurrentInferenceModel(RecurrentCheckpoint.Load(dir, dtype, device), name, ownsModule: true)
            : new PlainInferenceModel(HfModel.Load(dir, dtype, device), name, ownsModule: true);
    }

    /// <summary>Wraps a plain model (not disposed with the wrapper).</summary>
    public static InferenceModel For(LlamaModel model, string name = "model") => new PlainInferenceModel(model, name, ownsModule: false);

    /// <summary>Wraps a recurrent model (not disposed with the wrapper).</summary>
    public static InferenceModel For(RecurrentModel model, string name = "model") => new RecurrentInferenceModel(model, name, ownsModule: false);

    /// <summary>(B, T) positions → cos, sin (B, 1, T, hd) for <paramref name="step"/>.</summary>
    private protected static AttentionStep WithRope(AttentionStep step, RotaryEmbedding rope, ScalarType dtype)
    {
        var (cos, sin) = rope.CosSin(step.Positions, dtype);       // (B, T, hd) ×2
        return step with { Cos = cos.unsqueeze(1), Sin = sin.unsqueeze(1) };
    }

    /// <summary>Disposes the wrapped model when this wrapper loaded it.</summary>
    public void Dispose()
    {
        if (ownsModule) module.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A plain HF model: one cache entry per decoder layer.</summary>
internal sealed class PlainInferenceModel(LlamaModel model, string name, bool ownsModule) : InferenceModel(model, name, ownsModule)
{
    public override int VocabSize => model.Config.VocabSize;
    public override int ContextLength => model.Config.MaxPositionEmbeddings;
    public override IReadOnlyList<int> EosTokenIds => model.Config.EosTokenIds;
    public override bool IsRecurrent => false;
    public override int DefaultRecurrence => 1;

    public override KvCache NewCache(int batch, IReadOnlyList<int>? leftPad, long capacity, DepthOptions depth, KvCacheOptions? options = null) =>
        new(batch, leftPad, coreIterations: 1, coreLayers: 0, capacity, options);

    public override StepOutput Step(Tensor ids, KvCache cache, DepthOptions depth, TorchGenerator? noise, bool allLogits = false, RowSettings? rows = null)
    {
        var step = WithRope(cache.Begin(ids.shape[1], ids.device), model.Rope, DType);
        var x = model.Hidden(ids, i => step.For(new KvKey(CacheStage.Layers, 0, i)));   // (B, T, d)
        cache.Commit();
        if (!allLogits) x = x.narrow(1, x.shape[1] - 1, 1);                              // (B, 1, d)
        var logits = model.Head(x);                                                      // (B, T|1, V)
        return new StepOutput(allLogits ? logits : logits.squeeze(1), Enumerable.Repeat(1, cache.Batch).ToArray());
    }

    public override Tensor Forward(Tensor ids, DepthOptions depth, TorchGenerator? noise) => model.forward(ids);
}

/// <summary>
/// A recurrent model: prelude and coda layers have one cache entry each, core layer j one per iteration. Each
/// step's new tokens start from their own initial state and run the step's iterations (method.md §8).
/// </summary>
internal sealed class RecurrentInferenceModel(RecurrentModel model, string name, bool ownsModule) : InferenceModel(model, name, ownsModule)
{
    private RecurrentConfig Config => model.Config;

    public override int VocabSize => Config.Block.VocabSize;
    public override int ContextLength => Config.Block.MaxPositionEmbeddings;
    public override IReadOnlyList<int> EosTokenIds => Config.Block.EosTokenIds;
    public override bool IsRecurrent => true;
    public override int DefaultRecurrence => Config.MeanRecurrence;

    public override KvCache NewCache(int batch, IReadOnlyList<int>? leftPad, long capacity, DepthOptions depth, KvCacheOptions? options = null) =>
        new(batch, leftPad, ResolveRecurrence(depth), Config.CoreLayers, capacity, options);

    public override StepOutput Step(Tensor ids, KvCache cache, DepthOptions depth, TorchGenerator? noise, bool allLogits = false, RowSettings? rows = null)
    {
        depth.Validate();
        int batch = (int)ids.shape[0];
        if (rows is not null && (rows.Recurrence.Length != batch || rows.Noise.Length != batch || rows.Recurrence.Any(r => r < 1)))
            throw new ArgumentException($"row settings for {rows.Recurrence.Length} rows (recurrences ≥ 1 expected) and {rows.Noise.Length} generators; the step has {batch} rows.", nameof(rows));
        int maxR = rows?.Recurrence.Max() ?? ResolveRecurrence(depth);
        var step = WithRope(cache.Begin(ids.shape[1], ids.device), model.Rope, DType);

        var e = model.Prelude(ids, i => step.For(new KvKey(CacheStage.Prelude, 0, i)));   // (B, T, d)
        var s = rows is null
            ? model.InitialState(e, new RecurrenceOptions(maxR, State: depth.InitialState, Generator: noise))
            : cat(Enumerable.Range(0, batch).Select(b => RowState(e, b, rows, depth, maxR)).ToList(), 0);

        var rowDepth = rows?.Recurrence.ToArray() ?? Enumerable.Repeat(maxR, batch).ToArray();
        bool mixedDepth = rowDepth.Any(r => r != maxR);
        var exit = depth.Exit;
        Tensor? active = exit is null && !mixedDepth ? null : ones(batch, dtype: ScalarType.Bool, device: ids.device);   // (B,)
        Tensor? logits = null, previous = null;
        for (int it = 0; it < maxR; it++)
        {
            // Each iteration in its own dispose scope: at r = 16 a batch's per-iteration activations would
            // otherwise all live until the step ends. What the next iteration needs is moved out.
            using var iteration = NewDisposeScope();
            if (mixedDepth)   // rows past their own recurrence stop as an adaptive exit stops them
            {
                int at = it;
                var within = tensor(rowDepth.Select(r => r > at).ToArray(), device: ids.device);   // (B,)
                active = active!.logical_and(within).MoveToOuterDisposeScope();
            }
            cache.ActiveRows = active;
            var h = model.Iterate(s, e, j => step.For(new KvKey(CacheStage.Core, it, j)));   // (B, T, d)
            if (active is null) { s = h.MoveToOuterDisposeScope(); continue; }

            var next = where(active.view(-1, 1, 1), h, s);                               // stopped rows keep their state
            if (exit is null) { s = next.MoveToOuterDisposeScope(); continue; }
            Tensor change;                                                               // (B,) at the last position
            if (exit!.Kind == ExitKind.Kl)
            {
                logits = Coda(next, step);                                               // (B, T, V)
                var logp = logits[.., -1].to_type(ScalarType.Float32).log_softmax(-1);    // (B, V)
                change = previous is null ? full(batch, Scalars.PositiveInfinity, device: ids.device)
                    : (previous.exp() * (previous - logp)).sum(-1);                       // KL(p_{t-1} ‖ p_t)
                previous = logp.MoveToOuterDisposeScope();                               // made in this iteration: keep for the next
                logits.MoveToOuterDisposeScope();
            }
            else
            {
                var last = next[.., -1].to_type(ScalarType.Float32);                      // (B, d)
                var prev = s[.., -1].to_type(ScalarType.Float32);
                change = it == 0 ? full(batch, Scalars.PositiveInfinity, device: ids.device)
                    : (last - prev).norm(1, keepdim: false, p: 2) / last.norm(1, keepdim: false, p: 2).AtLeast(1e-30);
            }
            s = next.MoveToOuterDisposeScope();
            var stops = active.logical_and(change.LessThan(exit.Threshold));                     // (B,)
            var stopsHost = stops.cpu().data<bool>().ToArray();
            for (int b = 0; b < batch; b++)
                if (stopsHost[b]) rowDepth[b] = it + 1;
            active = active.logical_and(stops.logical_not()).MoveToOuterDisposeScope();
            if (!active.any().item<bool>()) break;
        }
        cache.ActiveRows = null;
        if (logits is null || exit?.Kind != ExitKind.Kl) logits = Coda(s, step);       // (B, T, V)
        cache.Commit();
        return new StepOutput(allLogits ? logits : logits[.., -1], rowDepth);
    }

    /// <summary>Row <paramref name="b"/>'s initial state (1, T, d): its own generator's noise for its real positions, zeros for its padding.</summary>
    private Tensor RowState(Tensor e, int b, RowSettings rows, DepthOptions depth, int maxR)
    {
        var row = e.narrow(0, b, 1);                                                     // (1, T, d)
        int pad = rows.LeftPad?[b] ?? 0;
        var options = new RecurrenceOptions(maxR, State: depth.InitialState, Generator: rows.Noise[b]);
        if (pad == 0) return model.InitialState(row, options);
        var real = model.InitialState(row.narrow(1, pad, row.shape[1] - pad), options);  // (1, T − pad, d)
        return cat([zeros([1, pad, row.shape[2]], row.dtype, row.device), real], 1);
    }

    private Tensor Coda(Tensor s, AttentionStep step) =>
        model.Coda(s, i => step.For(new KvKey(CacheStage.Coda, 0, i)));                  // (B, T, V)

    public override Tensor Forward(Tensor ids, DepthOptions depth, TorchGenerator? noise) =>
        model.forward(ids, new RecurrenceOptions(ResolveRecurrence(depth), State: depth.InitialState, Generator: noise));
}
