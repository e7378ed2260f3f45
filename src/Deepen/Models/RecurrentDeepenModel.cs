using Deepen.Checkpoints;
using Deepen.Modeling;
using Deepen.Torch;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;

namespace Deepen.Models;

/// <summary>
/// A recurrent model: prelude and coda layers have one cache entry each, core layer j one per iteration. Each
/// step's new tokens start from their own initial state and run the step's iterations (method.md §8).
/// </summary>
public sealed class RecurrentDeepenModel(RecurrentModel model, string name = "model", bool ownsModule = true) : DeepenModel(model, name, ownsModule)
{
    public RecurrentModel Model { get; } = model;
    private RecurrentConfig Config => Model.Config;

    public override int VocabSize => Config.Block.VocabSize;
    public override int ContextLength => Config.Block.MaxPositionEmbeddings;
    public override IReadOnlyList<int> EosTokenIds => Config.Block.EosTokenIds;
    public override bool IsRecurrent => true;
    public override int DefaultRecurrence => Config.MeanRecurrence;
    public override (int, int) Targets(int configMean, int configDepth) =>
        (configMean > 0 ? configMean : Config.MeanRecurrence, configDepth > 0 ? configDepth : Config.MeanBackpropDepth);
    public override RecurrenceDraw Draw(int meanRecurrence, int backpropDepth, long dataStep) => RecurrenceSampler.Draw(meanRecurrence, backpropDepth, dataStep);

    public override FlopCounter Flops
    {
        get
        {
            var (p, c, d, _) = Model.ParameterCounts();
            var b = Config.Block;
            return new FlopCounter(p, c, d, Config.MeanBackpropDepth,
                new AttentionShape(Config.PreludeLayers, Config.CoreLayers, Config.CodaLayers, (long)b.NumHeads * b.HeadDim));
        }
    }

    public override Tensor Logits(Tensor inputs, RecurrenceDraw draw, TorchGenerator? noise, NoiseShard? shard = null, Tensor? rows = null) =>
        Model.forward(inputs, new RecurrenceOptions(draw.Total, draw.Grad, StateInit.Random, noise) { Shard = shard, Rows = rows });

    public override void WriteInto(string dir, ScalarType dtype) => RecurrentCheckpoint.WriteInto(dir, Model, dtype);

    public override KvCache NewCache(int batch, IReadOnlyList<int>? leftPad, long capacity, DepthOptions depth, KvCacheOptions? options = null) =>
        new(batch, leftPad, ResolveRecurrence(depth), Config.CoreLayers, capacity, options);

    public override StepOutput Step(Tensor ids, KvCache cache, DepthOptions depth, TorchGenerator? noise, bool allLogits = false, RowSettings? rows = null)
    {
        depth.Validate();
        int batch = (int)ids.shape[0];
        if (rows is not null && (rows.Recurrence.Length != batch || rows.Noise.Length != batch || rows.Recurrence.Any(r => r < 1)))
            throw new ArgumentException($"row settings for {rows.Recurrence.Length} rows (recurrences ≥ 1 expected) and {rows.Noise.Length} generators; the step has {batch} rows.", nameof(rows));
        int maxR = rows?.Recurrence.Max() ?? ResolveRecurrence(depth);
        var step = cache.Begin(ids.shape[1], ids.device, Model.Rope, DType);

        var e = Model.Prelude(ids, i => step.For(new KvKey(CacheStage.Prelude, 0, i)));   // (B, T, d)
        var s = rows is null
            ? Model.InitialState(e, new RecurrenceOptions(maxR, State: depth.InitialState, Generator: noise))
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
            var h = Model.Iterate(s, e, j => step.For(new KvKey(CacheStage.Core, it, j)));   // (B, T, d)
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
        if (pad == 0) return Model.InitialState(row, options);
        var real = Model.InitialState(row.narrow(1, pad, row.shape[1] - pad), options);  // (1, T − pad, d)
        return cat([zeros([1, pad, row.shape[2]], row.dtype, row.device), real], 1);
    }

    private Tensor Coda(Tensor s, AttentionStep step) =>
        Model.Coda(s, i => step.For(new KvKey(CacheStage.Coda, 0, i)));                  // (B, T, V)

    public override Tensor Forward(Tensor ids, DepthOptions depth, TorchGenerator? noise) =>
        Model.forward(ids, new RecurrenceOptions(ResolveRecurrence(depth), State: depth.InitialState, Generator: noise));
}
