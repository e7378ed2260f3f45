using Deepen.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>How the latent state starts before the first recurrence.</summary>
public enum StateInit
{
    /// <summary>Truncated normal, σ = init std · init scale, truncated at ±3σ (the method's default).</summary>
    Random,
    /// <summary>All zeros (the conversion check and deterministic evaluation).</summary>
    Zeros,
}

/// <summary>
/// How one forward pass recurs: <see cref="Recurrence"/> iterations in all, of which the last
/// <see cref="GradSteps"/> record gradients (truncated backprop); the first Recurrence − GradSteps run
/// without gradient. <see cref="Generator"/> makes the random initial state reproducible; without one,
/// every call draws fresh noise.
/// </summary>
public sealed record RecurrenceOptions(int Recurrence, int GradSteps = 0, StateInit State = StateInit.Random, Generator? Generator = null)
{
    /// <summary>Skip the adapter (core input = prelude output), for the conversion equivalence check.</summary>
    public bool BypassAdapter { get; init; }

    /// <summary>
    /// Data-parallel training: the random initial state is drawn (from <see cref="Generator"/>) for the global
    /// batch of <c>WorldSize · B</c> rows and this rank keeps rows <c>Rank, Rank + W, Rank + 2W, ...</c> — the
    /// rows the data loader hands it — so that W ranks with B rows each start every sequence from the same
    /// noise as one process with W·B rows. Null: the noise is drawn for this batch alone.
    /// </summary>
    public NoiseShard? Shard { get; init; }

    /// <summary>Positions (N,) int64 of the flattened (B·T) sequence whose logits are wanted; the head then runs on those
    /// rows alone and the logits are (N, V). Training with <c>loss_on: answer</c> needs only the answer positions, and the
    /// head and its softmax over the vocabulary are most of a small model's cost. Null: every position, (B, T, V).</summary>
    public Tensor? Rows { get; init; }
}

/// <summary>This rank's share of a noise draw made for all <paramref name="WorldSize"/> ranks' rows (see <see cref="RecurrenceOptions.Shard"/>).</summary>
public sealed record NoiseShard(int Rank, int WorldSize);

/// <summary>Raven's <c>transformer</c>: wte, prelude, adapter, core_block, coda, ln_f.</summary>
public sealed class RecurrentTransformer : nn.Module
{
    public readonly TokenEmbedding wte;
    public readonly ModuleList<TransformerBlock> prelude, core_block, coda;
    public readonly Projection adapter;   // weight (d, 2d): columns 0..d-1 act on the state, d..2d-1 on the prelude output
    public readonly RmsNorm ln_f;

    public RecurrentTransformer(RecurrentConfig c, ScalarType dtype, Device? device) : base("transformer")
    {
        var b = c.Block;
        ModuleList<TransformerBlock> Stage(int n) =>
            new(Enumerable.Range(0, n).Select(_ => new TransformerBlock(b, dtype, device)).ToArray());
        wte = new TokenEmbedding(b.VocabSize, b.HiddenSize, dtype, device);
        prelude = Stage(c.PreludeLayers);
        adapter = new Projection(2L * b.HiddenSize, b.HiddenSize, dtype, device);
        core_block = Stage(c.CoreLayers);
        coda = Stage(c.CodaLayers);
        ln_f = new RmsNorm(b.HiddenSize, b.RmsNormEps, dtype, device);
        register_module(nameof(wte), wte);
        register_module(nameof(prelude), prelude);
        register_module(nameof(adapter), adapter);
        register_module(nameof(core_block), core_block);
        register_module(nameof(coda), coda);
        register_module(nameof(ln_f), ln_f);
    }
}

/// <summary>
/// The depth-recurrent model (method.md §1): embedding → prelude (P layers) → r iterations of
/// <c>core(adapter(cat(state, e)))</c> → coda (C layers) → ln_f → untied lm_head. Parameter names equal
/// the released checkpoints' keys (<c>transformer.core_block.0.attn.Wqkv.weight</c>, ...).
/// </summary>
public sealed class RecurrentModel : nn.Module<Tensor, RecurrenceOptions, Tensor>
{
    public readonly RecurrentTransformer transformer;
    public readonly Projection lm_head;

    public RecurrentConfig Config { get; }
    public RotaryEmbedding Rope { get; }

    public RecurrentModel(RecurrentConfig c, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(RecurrentModel))
    {
        Config = c;
        Rope = RotaryEmbedding.For(c.Block);
        transformer = new RecurrentTransformer(c, dtype, device);
        lm_head = new Projection(c.Block.HiddenSize, c.Block.VocabSize, dtype, device);
        register_module(nameof(transformer), transformer);
        register_module(nameof(lm_head), lm_head);
    }

    /// <summary>Logits for every position: ids (B, T) → (B, T, V); or, with <see cref="RecurrenceOptions.Rows"/>, for those (N, V).</summary>
    public override Tensor forward(Tensor ids, RecurrenceOptions options)
    {
        var (cos, sin) = PositionTables(ids);
        var e = Prelude(ids, cos, sin);                                  // (B, T, d)
        var s = Recur(e, InitialState(e, options), options, cos, sin);   // (B, T, d)
        return Coda(s, cos, sin, options.Rows);                          // (B, T, V) or (N, V)
    }

    public (Tensor Cos, Tensor Sin) PositionTables(Tensor ids) =>
        Rope.CosSin(arange(ids.shape[1], device: ids.device), transformer.wte.weight.dtype);

    /// <summary>Embedding and prelude: ids (B, T) → e (B, T, d).</summary>
    public Tensor Prelude(Tensor ids, Tensor cos, Tensor sin) => Prelude(ids, Whole(cos, sin));

    /// <summary>Embedding and prelude, prelude layer i meeting its keys and values through <paramref name="attention"/>(i): ids (B, T) → e (B, T, d).</summary>
    public Tensor Prelude(Tensor ids, Func<int, AttentionContext> attention)
    {
        var x = transformer.wte.forward(ids);                            // (B, T, d)
        if (Config.EmbedScale != 1.0) x = x.Times(Config.EmbedScale);
        for (int i = 0; i < Config.PreludeLayers; i++) x = transformer.prelude[i].Forward(x, attention(i));
        return x;
    }

    /// <summary>The whole-sequence attention of every layer (training, evaluation, the non-cached forward).</summary>
    private static Func<int, AttentionContext> Whole(Tensor cos, Tensor sin)
    {
        var whole = new SequenceAttention(cos, sin);
        return _ => whole;
    }

    /// <summary>The initial latent state, shaped like <paramref name="e"/>.</summary>
    public Tensor InitialState(Tensor e, RecurrenceOptions options)
    {
        double std = Config.InitStd * Config.InitScale;
        if (options.State == StateInit.Zeros || std <= 0) return zeros_like(e);
        using var noGrad = no_grad();
        Tensor s;
        if (options.Shard is { WorldSize: > 1 } shard)
        {
            using var scope = NewDisposeScope();
            var shape = (long[])e.shape.Clone();
            shape[0] *= shard.WorldSize;
            var all = TruncatedNormal.Sample(shape, std, e.dtype, e.device, options.Generator);                 // (W·B, T, d)
            s = all.reshape(e.shape[0], shard.WorldSize, -1).select(1, shard.Rank).reshape(e.shape)      // rows r, r+W, ...: (B, T, d)
                .contiguous().MoveToOuterDisposeScope();
        }
        else s = TruncatedNormal.Sample(e.shape, std, e.dtype, e.device, options.Generator);
        return Config.EmbedScale != 1.0 ? s.Times(Config.EmbedScale) : s;
    }

    /// <summary>
    /// Runs <c>Recurrence</c> iterations from <paramref name="state"/>: the first Recurrence − GradSteps
    /// without gradient (the state is detached after them), the last GradSteps with gradient. Each
    /// iteration runs in its own dispose scope, so a no-grad iteration's activations are freed at once
    /// and memory does not grow with the number of no-grad iterations (autograd keeps what the grad
    /// iterations need by its own references).
    /// </summary>
    public Tensor Recur(Tensor e, Tensor state, RecurrenceOptions options, Tensor cos, Tensor sin)
    {
        if (options.Recurrence < 1) throw new ArgumentOutOfRangeException(nameof(options), "recurrence must be ≥ 1");
        int grad = Math.Clamp(options.GradSteps, 0, options.Recurrence);
        int noGrad = options.Recurrence - grad;
        var s = state;
        void Replace(Tensor next)
        {
            if (!ReferenceEquals(s, state)) s.Dispose();   // the caller owns the initial state
            s = next;
        }
        void Run(int iterations)
        {
            for (int i = 0; i < iterations; i++)
            {
                using var scope = NewDisposeScope();
                Replace(Iterate(s, e, options, cos, sin).MoveToOuterDisposeScope());
            }
        }
        if (noGrad > 0)
        {
            using (no_grad()) Run(noGrad);
            Replace(s.detach());
        }
        Run(grad);
        return s;
    }

    /// <summary>One recurrence: <c>core(adapter(cat(s, e)))</c>, (B, T, d) → (B, T, d).</summary>
    public Tensor Iterate(Tensor state, Tensor e, RecurrenceOptions options, Tensor cos, Tensor sin) =>
        Iterate(state, e, Whole(cos, sin), options.BypassAdapter);

    /// <summary>One recurrence, core layer j meeting its keys and values through <paramref name="attention"/>(j): (B, T, d) → (B, T, d).</summary>
    public Tensor Iterate(Tensor state, Tensor e, Func<int, AttentionContext> attention, bool bypassAdapter = false)
    {
        var x = bypassAdapter ? e : transformer.adapter.forward(cat([state, e], -1));   // (B, T, 2d) → (B, T, d)
        for (int j = 0; j < Config.CoreLayers; j++) x = transformer.core_block[j].Forward(x, attention(j));
        return x;
    }

    /// <summary>Coda, final norm and head: (B, T, d) → (B, T, V); with <paramref name="rows"/> (N,) into the flattened
    /// positions, the norm and head run on those alone: (N, V).</summary>
    public Tensor Coda(Tensor s, Tensor cos, Tensor sin, Tensor? rows = null) => Coda(s, Whole(cos, sin), rows);

    /// <summary>Coda, final norm and head, coda layer i meeting its keys and values through <paramref name="attention"/>(i): (B, T, d) → (B, T, V), or (N, V) for <paramref name="rows"/>.</summary>
    public Tensor Coda(Tensor s, Func<int, AttentionContext> attention, Tensor? rows = null)
    {
        for (int i = 0; i < Config.CodaLayers; i++) s = transformer.coda[i].Forward(s, attention(i));
        if (rows is not null) s = s.reshape(-1, s.shape[^1]).index_select(0, rows);   // (N, d)
        return lm_head.forward(transformer.ln_f.forward(s));
    }

    /// <summary>Parameter counts of the stages (method.md §2.6).</summary>
    public (long Prelude, long Core, long Coda, long Other) ParameterCounts()
    {
        static long Count(nn.Module m) => m.parameters().Sum(p => p.numel());
        long prelude = Count(transformer.prelude), core = Count(transformer.core_block), coda = Count(transformer.coda);
        long total = parameters().Sum(p => p.numel());
        return (prelude, core, coda, total - prelude - core - coda);
    }
}
