using Deepen.Modeling;
using static TorchSharp.torch;
using Deepen.Torch;

namespace Deepen.Models;

/// <summary>Which part of a model an attention layer belongs to.</summary>
public enum CacheStage
{
    /// <summary>A plain model's decoder layers.</summary>
    Layers,
    /// <summary>A recurrent model's prelude.</summary>
    Prelude,
    /// <summary>A recurrent model's core block, one entry per (iteration, layer).</summary>
    Core,
    /// <summary>A recurrent model's coda.</summary>
    Coda,
}

/// <summary>An attention layer's place: the stage, the recurrence iteration (0-based; 0 outside the core) and the layer within the stage.</summary>
public readonly record struct KvKey(CacheStage Stage, int Iteration, int Layer);

/// <summary>How much of the core's keys and values a <see cref="KvCache"/> keeps.</summary>
public sealed record KvCacheOptions
{
    /// <summary>
    /// Null (the default, method.md §8's "full" lookup): one entry per (iteration, core layer), so iteration t of a
    /// new token attends to the earlier tokens' keys and values of iteration t, exactly as recomputing the whole
    /// sequence would. A number m &lt; r: the memory-saving mode. Each core layer keeps m entries and iteration t
    /// reads and writes entry t mod m, so a new token's iteration t attends to the earlier tokens' keys and values
    /// of the <em>last iteration they ran that is congruent to t mod m</em> (one of their last m iterations) instead
    /// of iteration t. The approximation is good when the latent state has converged over the last m iterations;
    /// m = 1 attends to the final iteration's entries only. Memory for the core falls from r to m entries per layer.
    /// </summary>
    public int? KeepIterations { get; init; }

    /// <summary>Throws a <see cref="DeepenException"/> for a non-positive <see cref="KeepIterations"/>.</summary>
    public void Validate()
    {
        if (KeepIterations is < 1)
            throw new DeepenException($"kv-cache keep-iterations {KeepIterations}: expected a positive integer (or none for the full cache).");
    }
}

/// <summary>
/// Keys and values of every attention layer for the tokens seen so far, keyed by (stage, iteration, layer) as
/// method.md §8 describes: prelude and coda layers have one entry each; core layer j has one entry per recurrence
/// iteration (or <see cref="KvCacheOptions.KeepIterations"/> of them). Rows may be left-padded: row b's first
/// leftPad[b] positions are padding, hidden from every query, and a token's rotary position is its index among
/// its row's real tokens.
/// </summary>
/// <remarks>
/// One step (a prefill or a decode step) runs <see cref="Begin"/>, then the layers call <see cref="Attend"/>,
/// then <see cref="Commit"/>. Entries are written straight into preallocated buffers (grown by doubling) at the
/// step's positions, so a later write of the same entry in the same step (the memory-saving mode, or the coda
/// run after every iteration for adaptive exit) simply overwrites it. The buffers live outside every dispose
/// scope; <see cref="Dispose"/> frees them.
/// </remarks>
public sealed class KvCache : IDisposable
{
    private sealed class Entry
    {
        public Tensor K = null!, V = null!;   // (B, Hkv, capacity, hd)
        public bool WrittenThisStep;
    }

    private readonly Dictionary<KvKey, Entry> entries = [];
    private int[] leftPad;
    private readonly int coreLayers;
    private readonly KvKey?[] latest;   // per core layer: the entry written last this step (its keys/values are read back from the buffer)
    private long capacity;
    private long stepLength = -1;
    private bool disposed;

    /// <param name="batch">Rows.</param>
    /// <param name="leftPad">Padding positions at the start of each row (null: none).</param>
    /// <param name="coreIterations">Iterations a step runs at most (1 for a plain model).</param>
    /// <param name="coreLayers">Layers in the core block (0 for a plain model).</param>
    /// <param name="capacityHint">Positions to allocate room for at first (prompt + new tokens); grows when exceeded.</param>
    /// <param name="options">Full or memory-saving.</param>
    public KvCache(int batch, IReadOnlyList<int>? leftPad, int coreIterations, int coreLayers, long capacityHint = 256, KvCacheOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(coreIterations, 1);
        options ??= new KvCacheOptions();
        options.Validate();
        Batch = batch;
        this.leftPad = leftPad?.ToArray() ?? new int[batch];
        if (this.leftPad.Length != batch) throw new ArgumentException($"leftPad has {this.leftPad.Length} entries for {batch} rows.", nameof(leftPad));
        if (this.leftPad.Any(p => p < 0)) throw new ArgumentException("leftPad entries must be ≥ 0.", nameof(leftPad));
        CoreEntriesPerLayer = Math.Min(options.KeepIterations ?? coreIterations, coreIterations);
        this.coreLayers = coreLayers;
        latest = new KvKey?[coreLayers];
        capacity = Math.Max(1, capacityHint);
        Options = options;
    }

    /// <summary>Rows.</summary>
    public int Batch { get; private set; }

    /// <summary>Positions cached so far (padding included), the same for every row.</summary>
    public long Length { get; private set; }

    /// <summary>Core entries kept per layer (the recurrence, or <see cref="KvCacheOptions.KeepIterations"/> when smaller).</summary>
    public int CoreEntriesPerLayer { get; private set; }

    /// <summary>The options the cache was made with.</summary>
    public KvCacheOptions Options { get; }

    /// <summary>
    /// During an adaptive step: (B,) bool, true for rows still iterating. A row that has stopped writes its last
    /// iteration's keys and values into every later core entry it had not reached, and leaves an entry it already
    /// wrote this step (the memory-saving mode) as it was, so the cache holds what the row alone would have left.
    /// </summary>
    public Tensor? ActiveRows { get; set; }

    /// <summary>Bytes held by the cache's buffers.</summary>
    public long Bytes => entries.Values.Sum(e => e.K.NumberOfElements * e.K.ElementSize + e.V.NumberOfElements * e.V.ElementSize);

    /// <summary>Number of (stage, iteration, layer) entries allocated.</summary>
    public int EntryCount => entries.Count;

    /// <summary>
    /// Starts a step of <paramref name="tokens"/> new positions per row: <paramref name="rope"/>'s tables at their
    /// rotary positions, in <paramref name="dtype"/>, and the attention mask over the cached and new keys.
    /// </summary>
    public AttentionStep Begin(long tokens, Device device, RotaryEmbedding rope, ScalarType dtype)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (stepLength >= 0) throw new InvalidOperationException("KvCache.Begin: the previous step was not committed.");
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        stepLength = tokens;
        foreach (var e in entries.Values) e.WrittenThisStep = false;

        var pad = tensor(leftPad.Select(p => (long)p).ToArray(), device: device).unsqueeze(1);   // (B, 1)
        var absolute = arange(Length, Length + tokens, device: device).unsqueeze(0);               // (1, T)
        var positions = (absolute - pad).clamp_min(Scalars.Zero);                                             // (B, T)
        var (cos, sin) = rope.CosSin(positions.unsqueeze(1), dtype);                               // (B, 1, T, hd) ×2

        bool padded = leftPad.Any(p => p > 0);   // some key, cached or new, is padding
        if (!padded && (tokens == 1 || Length == 0))
            return new AttentionStep(this, cos, sin, Mask: null, Causal: tokens > 1);
        // Explicit mask, true = attend: causal (lower-right aligned: query i sits at Length + i), padding hidden,
        // and every query may see itself so a padding row never has all keys masked.
        long keys = Length + tokens;
        var k = arange(keys, device: device).view(1, 1, keys);                                     // (1, 1, Tk)
        var q = arange(Length, Length + tokens, device: device).view(1, tokens, 1);                // (1, T, 1)
        var real = k >= pad.unsqueeze(2);                                                          // (B, 1, Tk)
        var allowed = (k <= q).logical_and(real.logical_or(k == q));                               // (B, T, Tk)
        return new AttentionStep(this, cos, sin, allowed.unsqueeze(1), Causal: false);             // (B, 1, T, Tk)
    }

    /// <summary>
    /// Writes the new tokens' keys and values (after rope) for <paramref name="key"/> and attends
    /// <paramref name="q"/> to all keys of that entry: q (B, H, T, hd), k and v (B, Hkv, T, hd) → (B, T, H·hd).
    /// </summary>
    public Tensor Attend(KvKey key, Tensor q, Tensor k, Tensor v, AttentionStep step)
    {
        if (stepLength < 0) throw new InvalidOperationException("KvCache.Attend outside a step.");
        if (key.Stage == CacheStage.Core)
        {
            // A stopped row writes what it would hold had it run alone: an entry it already wrote this step (the
            // memory-saving mode wrapping round) keeps that; an entry it never reached gets its last keys and values.
            var target = EntryKey(key);
            KvKey? source = entries.TryGetValue(target, out var existing) && existing.WrittenThisStep ? target : latest[key.Layer];
            if (ActiveRows is not null && source is { } from)
            {
                var (lk, lv) = StepSlice(from);
                var keep = ActiveRows.view(-1, 1, 1, 1);                                           // (B, 1, 1, 1)
                k = where(keep, k, lk);
                v = where(keep, v, lv);
            }
            latest[key.Layer] = EntryKey(key);
        }
        var entry = Write(EntryKey(key), k, v);
        long keys = Length + stepLength;
        return AttentionKernel.Attend(q, entry.K.narrow(2, 0, keys), entry.V.narrow(2, 0, keys), step.Causal, step.Mask);
    }

    /// <summary>This step's keys and values of an entry, read back from its buffer: (B, Hkv, T, hd) each.</summary>
    private (Tensor K, Tensor V) StepSlice(KvKey entryKey)
    {
        var e = entries[entryKey];
        return (e.K.narrow(2, Length, stepLength), e.V.narrow(2, Length, stepLength));
    }

    /// <summary>
    /// Ends the step: core entries this step did not reach (an early exit) receive each layer's last keys and
    /// values; the cached length grows by the step's tokens.
    /// </summary>
    public void Commit()
    {
        if (stepLength < 0) throw new InvalidOperationException("KvCache.Commit without a step.");
        for (int layer = 0; layer < coreLayers; layer++)
        {
            if (latest[layer] is not { } last) continue;
            var (k, v) = StepSlice(last);
            for (int it = 0; it < CoreEntriesPerLayer; it++)
            {
                var key = new KvKey(CacheStage.Core, it, layer);
                if (!entries.TryGetValue(key, out var e) || !e.WrittenThisStep) Write(key, k, v);
            }
            latest[layer] = null;
        }
        Length += stepLength;
        stepLength = -1;
        ActiveRows = null;
    }

    private KvKey EntryKey(KvKey key) =>
        key.Stage == CacheStage.Core ? key with { Iteration = key.Iteration % CoreEntriesPerLayer } : key;

    private Entry Write(KvKey key, Tensor k, Tensor v)
    {
        long needed = Length + stepLength;
        while (capacity < needed) capacity *= 2;
        if (!entries.TryGetValue(key, out var e)) entries[key] = e = new Entry { K = Buffer(k), V = Buffer(v) };
        else if (e.K.shape[2] < needed)
        {
            e.K = Grow(e.K);
            e.V = Grow(e.V);
        }
        using (no_grad())
        {
            e.K.narrow(2, Length, stepLength).copy_(k);
            e.V.narrow(2, Length, stepLength).copy_(v);
        }
        e.WrittenThisStep = true;
        return e;
    }

    /// <summary>A zeroed buffer shaped like <paramref name="like"/> with <paramref name="rows"/> rows (default: as many) and room for the capacity, outside every dispose scope.</summary>
    private Tensor Buffer(Tensor like, long? rows = null) =>
        zeros([rows ?? like.shape[0], like.shape[1], capacity, like.shape[3]], like.dtype, like.device).DetachFromDisposeScope();   // (B, Hkv, cap, hd)

    private Tensor Grow(Tensor old)
    {
        var grown = Buffer(old);
        using (no_grad()) grown.narrow(2, 0, Length).copy_(old.narrow(2, 0, Length));
        old.Dispose();
        return grown;
    }

    /// <summary>
    /// Gives the core <paramref name="iterations"/> entries per layer (capped by <see cref="KvCacheOptions.KeepIterations"/>)
    /// when it has fewer: each new entry starts as a copy of the layer's last one, which is what every row that ran
    /// fewer iterations has written there (<see cref="Commit"/>). Continuous batching calls it when a row with a
    /// deeper recurrence joins.
    /// </summary>
    public void GrowCoreEntries(int iterations)
    {
        ThrowIfInStep(nameof(GrowCoreEntries));
        int wanted = Math.Min(Options.KeepIterations ?? iterations, iterations);
        if (wanted <= CoreEntriesPerLayer) return;
        for (int layer = 0; layer < coreLayers; layer++)
        {
            if (!entries.TryGetValue(new KvKey(CacheStage.Core, CoreEntriesPerLayer - 1, layer), out var last)) continue;
            for (int it = CoreEntriesPerLayer; it < wanted; it++)
                entries[new KvKey(CacheStage.Core, it, layer)] = new Entry
                {
                    K = last.K.clone().DetachFromDisposeScope(), V = last.V.clone().DetachFromDisposeScope(),
                };
        }
        CoreEntriesPerLayer = wanted;
    }

    /// <summary>
    /// Appends <paramref name="other"/>'s rows after this cache's rows (continuous batching: a prefilled request
    /// joins the running batch). Both must hold the same entries (give them the same core entries first, with
    /// <see cref="GrowCoreEntries"/>). Rows stay right-aligned: the shorter side gains left padding, so every row's
    /// rotary positions and visible keys are unchanged. <paramref name="other"/> is left as it was.
    /// </summary>
    /// <exception cref="ArgumentException">The caches hold different entries or shapes.</exception>
    public void Append(KvCache other)
    {
        ThrowIfInStep(nameof(Append));
        other.ThrowIfInStep(nameof(Append));
        if (other.CoreEntriesPerLayer != CoreEntriesPerLayer || other.coreLayers != coreLayers || !other.entries.Keys.ToHashSet().SetEquals(entries.Keys))
            throw new ArgumentException($"KvCache.Append: the caches hold different entries ({entries.Count} with {CoreEntriesPerLayer} core iterations, {other.entries.Count} with {other.CoreEntriesPerLayer}).", nameof(other));
        long length = Math.Max(Length, other.Length);
        long shiftThis = length - Length, shiftOther = length - other.Length;
        capacity = Math.Max(Math.Max(capacity, other.capacity), length);
        using var scope = NewDisposeScope();
        foreach (var (key, e) in entries)
        {
            var o = other.entries[key];
            e.K = Join(e.K, Length, shiftThis, o.K, other.Length, shiftOther);
            e.V = Join(e.V, Length, shiftThis, o.V, other.Length, shiftOther);
        }
        leftPad = [.. leftPad.Select(p => p + (int)shiftThis), .. other.leftPad.Select(p => p + (int)shiftOther)];
        Batch += other.Batch;
        Length = length;
    }

    /// <summary>
    /// Keeps only <paramref name="rows"/> (ascending indices; continuous batching: finished requests leave), and
    /// drops the leading positions that are padding in every remaining row.
    /// </summary>
    public void KeepRows(IReadOnlyList<int> rows)
    {
        ThrowIfInStep(nameof(KeepRows));
        if (rows.Count == 0) throw new ArgumentException("KvCache.KeepRows: at least one row must stay.", nameof(rows));
        if (rows.Any(r => r < 0 || r >= Batch)) throw new ArgumentOutOfRangeException(nameof(rows), $"row indices must lie in [0, {Batch}).");
        var pads = rows.Select(r => leftPad[r]).ToArray();
        int trim = pads.Min();
        using (var scope = NewDisposeScope())
        {
            Tensor? index = null;
            foreach (var e in entries.Values)
            {
                index ??= tensor(rows.Select(r => (long)r).ToArray(), device: e.K.device);   // (B',)
                e.K = Select(e.K, index, trim);
                e.V = Select(e.V, index, trim);
            }
        }
        leftPad = pads.Select(p => p - trim).ToArray();
        Batch = rows.Count;
        Length -= trim;
    }

    /// <summary>
    /// Copies row <paramref name="row"/>'s first <paramref name="tokens"/> real positions out of every entry (prefix
    /// caching): the copies outlive this cache and every dispose scope until the <see cref="KvPrefix"/> is disposed.
    /// </summary>
    public KvPrefix SnapshotRow(int row, int tokens)
    {
        ThrowIfInStep(nameof(SnapshotRow));
        if (row < 0 || row >= Batch) throw new ArgumentOutOfRangeException(nameof(row), $"row {row}: expected a row in [0, {Batch}).");
        if (tokens < 1 || leftPad[row] + tokens > Length)
            throw new ArgumentOutOfRangeException(nameof(tokens), $"{tokens} tokens from position {leftPad[row]}: the cache holds {Length} positions.");
        var copies = new Dictionary<KvKey, (Tensor, Tensor)>();
        using (no_grad())
            foreach (var (key, e) in entries)
                copies[key] = (Copy(e.K), Copy(e.V));
        return new KvPrefix(copies, tokens, CoreEntriesPerLayer);

        Tensor Copy(Tensor buffer) => buffer.narrow(0, row, 1).narrow(2, leftPad[row], tokens).clone().DetachFromDisposeScope();   // (1, Hkv, tokens, hd)
    }

    /// <summary>
    /// Fills a fresh cache's first <paramref name="length"/> positions from cached prefixes, so the prompts' prefill
    /// can start at position <paramref name="length"/>: row b's positions [leftPad[b], length) get the first
    /// length − leftPad[b] tokens of <paramref name="prefixes"/>[b] (which may be null when length ≤ leftPad[b]).
    /// A core entry the prefix lacks (its cache ran fewer iterations) repeats the prefix's last one, which is what
    /// the row itself leaves there when it runs fewer iterations than the batch (<see cref="Commit"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The cache is not fresh, a needed prefix is missing or too short, or the prefixes hold other entries than this model's.</exception>
    public void Preload(IReadOnlyList<KvPrefix?> prefixes, long length)
    {
        ThrowIfInStep(nameof(Preload));
        if (Length != 0 || entries.Count != 0) throw new ArgumentException("KvCache.Preload: the cache must be fresh.", nameof(prefixes));
        if (prefixes.Count != Batch) throw new ArgumentException($"KvCache.Preload: {prefixes.Count} prefixes for {Batch} rows.", nameof(prefixes));
        for (int b = 0; b < Batch; b++)
            if (length > leftPad[b] && (prefixes[b] is not { } p || p.Length < length - leftPad[b]))
                throw new ArgumentException($"KvCache.Preload: row {b} needs {length - leftPad[b]} cached tokens and its prefix holds {prefixes[b]?.Length ?? 0}.", nameof(prefixes));
        var template = prefixes.First(p => p is not null)!;
        if (template.Entries.Keys.Any(k => k.Stage == CacheStage.Core) != coreLayers > 0)
            throw new ArgumentException("KvCache.Preload: the prefixes come from a model of another kind.", nameof(prefixes));
        capacity = Math.Max(capacity, length);
        var keys = template.Entries.Keys.Where(k => k.Stage != CacheStage.Core)
            .Concat(Enumerable.Range(0, coreLayers).SelectMany(layer => Enumerable.Range(0, CoreEntriesPerLayer).Select(it => new KvKey(CacheStage.Core, it, layer))));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var key in keys)
        {
            var like = template.Entries[SourceKey(template, key)];
            var e = new Entry { K = Buffer(like.K, Batch), V = Buffer(like.V, Batch) };
            for (int b = 0; b < Batch; b++)
            {
                long count = length - leftPad[b];
                if (count <= 0) continue;
                var source = prefixes[b]!;
                if (!source.Entries.TryGetValue(SourceKey(source, key), out var kv))
                    throw new ArgumentException($"KvCache.Preload: row {b}'s prefix has no entry {key}.", nameof(prefixes));
                e.K.narrow(0, b, 1).narrow(2, leftPad[b], count).copy_(kv.K.narrow(2, 0, count));
                e.V.narrow(0, b, 1).narrow(2, leftPad[b], count).copy_(kv.V.narrow(2, 0, count));
            }
            entries[key] = e;
        }
        Length = length;

        static KvKey SourceKey(KvPrefix p, KvKey key) =>
            key.Stage == CacheStage.Core ? key with { Iteration = Math.Min(key.Iteration, p.CoreEntriesPerLayer - 1) } : key;
    }

    private Tensor Select(Tensor buffer, Tensor index, int trim)
    {
        var kept = Buffer(buffer, index.shape[0]);
        using (no_grad()) kept.narrow(2, 0, Length - trim).copy_(buffer.index_select(0, index).narrow(2, trim, Length - trim));
        buffer.Dispose();
        return kept;
    }

    private Tensor Join(Tensor a, long lengthA, long shiftA, Tensor b, long lengthB, long shiftB)
    {
        long rowsA = a.shape[0], rowsB = b.shape[0];
        var joined = Buffer(a, rowsA + rowsB);   // (B+B', Hkv, cap, hd)
        using (no_grad())
        {
            if (lengthA > 0) joined.narrow(0, 0, rowsA).narrow(2, shiftA, lengthA).copy_(a.narrow(2, 0, lengthA));
            if (lengthB > 0) joined.narrow(0, rowsA, rowsB).narrow(2, shiftB, lengthB).copy_(b.narrow(2, 0, lengthB));
        }
        a.Dispose();
        return joined;
    }

    private void ThrowIfInStep(string what)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (stepLength >= 0) throw new InvalidOperationException($"KvCache.{what} during a step.");
    }

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var e in entries.Values) { e.K.Dispose(); e.V.Dispose(); }
        entries.Clear();
    }
}

/// <summary>
/// One step's attention inputs: the cache, the rotary tables <see cref="Cos"/> and <see cref="Sin"/> (B, 1, T, hd) at
/// each row's positions, and the mask (B, 1, T, Tk; true = attend) or, without padding, none (<see cref="Causal"/>
/// then says whether SDPA applies its own causal mask).
/// </summary>
public sealed record AttentionStep(KvCache Cache, Tensor Cos, Tensor Sin, Tensor? Mask, bool Causal)
{
    /// <summary>The attention context of the layer at <paramref name="key"/> for this step, for the blocks' own forward.</summary>
    public AttentionContext For(KvKey key) => new CachedAttention(this, key);

    private sealed class CachedAttention(AttentionStep step, KvKey key) : AttentionContext
    {
        // q (B, T, H, hd), k and v (B, T, Hkv, hd) → rope at each row's positions, keys and values through the cache → (B, T, H·hd)
        public override Tensor Attend(Tensor q, Tensor k, Tensor v) => step.Cache.Attend(key,
            RotaryEmbedding.Apply(q.transpose(1, 2), step.Cos, step.Sin), RotaryEmbedding.Apply(k.transpose(1, 2), step.Cos, step.Sin), v.transpose(1, 2), step);
    }
}
