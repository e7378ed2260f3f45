using static TorchSharp.torch;

namespace Deepen.Data;

/// <summary>
/// Hands out training batches from one or more token shards, deterministically and resumably.
/// <para>
/// Order: the shards' rows form one index space 0..N-1 (files in the given order). Epoch e visits them in
/// <see cref="DeterministicShuffle.Permutation"/>(N, seed + e). Each step takes the next global batch of
/// B × W positions <c>cursor .. cursor + B·W − 1</c> of that order; rank r gets positions
/// <c>cursor + j·W + r</c> for j = 0..B−1 (interleaved), so ranks are disjoint and together cover the global
/// batch, and every rank advances the same cursor. When fewer than B × W rows remain, those are skipped and
/// the loader wraps to the next epoch or stops (<see cref="DataEndAction"/>), and says so through
/// <see cref="TokenShardLoaderOptions.Log"/> and <see cref="Exhausted"/>.
/// </para>
/// <para>
/// Position: <see cref="State"/> (epoch, cursor) is all there is; <see cref="Restore"/> continues exactly.
/// </para>
/// <para>
/// Shorter sequences: <see cref="TryNext(int, RowCut, out TokenBatch)"/> cuts each row at a shorter
/// sequence length, truncating or splitting it into lossless pieces. One call always consumes one global
/// batch of rows, so the state stays row-granular whatever the cut. Other schemes (e.g. spreading a row's
/// pieces over several steps) can be built on <see cref="TryNextRows"/> and <see cref="ReadRow"/>.
/// </para>
/// </summary>
public sealed class TokenShardLoader : IDisposable
{
    private readonly TokenShard[] _shards;
    private readonly long[] _starts;     // global index of each shard's first row
    private readonly TokenShardLoaderOptions _options;
    private int[]? _order;
    private int _orderEpoch = -1;
    private bool _stopped;

    public TokenShardLoader(IReadOnlyList<string> shardPaths, TokenShardLoaderOptions options)
    {
        if (shardPaths.Count == 0) throw new DeepenException("the data loader needs at least one token shard.");
        if (options.BatchSize < 1) throw new DeepenException($"batch size {options.BatchSize}: must be at least 1.");
        if (options.WorldSize < 1 || options.Rank < 0 || options.Rank >= options.WorldSize)
            throw new DeepenException($"rank {options.Rank} of world size {options.WorldSize}: need 0 ≤ rank < world size.");
        _options = options;
        var shards = new List<TokenShard>();
        try
        {
            foreach (var path in shardPaths)
            {
                var shard = TokenShard.Open(path, options.ExpectedFingerprint);
                shards.Add(shard);
                var first = shards[0];
                if (shard.RowLength != first.RowLength)
                    throw new DeepenException($"{path}: rows of {shard.RowLength} tokens, but {first.Path} has rows of {first.RowLength}; all shards of one loader must share a row length.");
                if (shard.Header.Metadata.TokenizerFingerprint != first.Header.Metadata.TokenizerFingerprint)
                    throw new DeepenException($"{path}: tokenizer fingerprint {shard.Header.Metadata.TokenizerFingerprint} differs from {first.Path}'s {first.Header.Metadata.TokenizerFingerprint}.");
            }
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
        _shards = [.. shards];
        _starts = new long[_shards.Length];
        for (int i = 1; i < _shards.Length; i++) _starts[i] = _starts[i - 1] + _shards[i - 1].RowCount;
        RowCount = _starts[^1] + _shards[^1].RowCount;
        if (RowCount < GlobalBatchRows)
            throw new DeepenException($"{string.Join(", ", shardPaths)}: {RowCount} rows in all, fewer than one global batch of {options.BatchSize} × {options.WorldSize} = {GlobalBatchRows} rows.");
        if (RowCount > Array.MaxLength)
            throw new DeepenException($"{RowCount} rows exceed the {Array.MaxLength} rows one loader can shuffle; split the data into several runs.");
        State = new TokenLoaderState(0, 0, RowCount, options.Seed);
    }

    /// <summary>Rows in all shards together.</summary>
    public long RowCount { get; }

    /// <summary>Tokens per stored row (seq_len + 1).</summary>
    public int RowLength => _shards[0].RowLength;

    /// <summary>Full sequence length of a batch: <see cref="RowLength"/> − 1.</summary>
    public int SeqLen => RowLength - 1;

    /// <summary>Rows one step takes across all ranks: B × W.</summary>
    public long GlobalBatchRows => (long)_options.BatchSize * _options.WorldSize;

    /// <summary>The position to store in a checkpoint.</summary>
    public TokenLoaderState State { get; private set; }

    /// <summary>Raised whenever the data runs out, before wrapping or stopping.</summary>
    public event Action<DataExhausted>? Exhausted;

    /// <summary>Continues from a stored position; the state must belong to these shards and this seed.</summary>
    public void Restore(TokenLoaderState state)
    {
        if (state.RowCount != RowCount || state.Seed != _options.Seed)
            throw new DeepenException($"the data loader state belongs to {state.RowCount} rows shuffled with seed {state.Seed}, but this loader has {RowCount} rows and seed {_options.Seed}.");
        if (state.Epoch < 0 || state.Cursor < 0 || state.Cursor > RowCount)
            throw new DeepenException($"the data loader state (epoch {state.Epoch}, cursor {state.Cursor}) is out of range for {RowCount} rows.");
        State = state;
        _stopped = false;
    }

    /// <summary>
    /// This rank's rows of the next global batch (global row indices), advancing the state; false when the
    /// data ran out and <see cref="DataEndAction.Stop"/> is set.
    /// </summary>
    public bool TryNextRows(out long[] rows)
    {
        rows = [];
        if (_stopped) return false;
        long global = GlobalBatchRows;
        if (State.Cursor + global > RowCount)
        {
            long left = RowCount - State.Cursor;
            int epoch = State.Epoch;
            bool wrap = _options.OnEnd == DataEndAction.Wrap;
            string action = wrap ? $"wrapping to epoch {epoch + 2}" : "stopping";
            string message = $"data exhausted after {State.Cursor} rows: {action} " +
                $"(epoch {epoch + 1} of {RowCount} rows; {left} rows left over, fewer than one global batch of {global})";
            _options.Log(message);
            Exhausted?.Invoke(new DataExhausted(epoch, State.Cursor, left, _options.OnEnd, message));
            if (!wrap) { _stopped = true; return false; }
            State = State with { Epoch = epoch + 1, Cursor = 0 };
        }
        var order = Order(State.Epoch);
        int b = _options.BatchSize, w = _options.WorldSize, r = _options.Rank;
        rows = new long[b];
        for (int j = 0; j < b; j++) rows[j] = order[State.Cursor + (long)j * w + r];
        State = State with { Cursor = State.Cursor + global };
        return true;
    }

    /// <summary>The next batch of full rows: inputs row[:-1], labels row[1:], each (B, <see cref="SeqLen"/>).</summary>
    public bool TryNext(out TokenBatch batch) => TryNext(SeqLen, RowCut.Truncate, out batch);

    /// <summary>
    /// The next batch at sequence length <paramref name="seqLen"/> ≤ <see cref="SeqLen"/>:
    /// <see cref="RowCut.Truncate"/> gives (B, seqLen) from each row's first seqLen + 1 tokens;
    /// <see cref="RowCut.Split"/> gives (B·P, seqLen) with P = SeqLen / seqLen pieces per row, piece p being
    /// tokens [p·seqLen, (p+1)·seqLen] (inputs the first seqLen, labels the last seqLen).
    /// </summary>
    public bool TryNext(int seqLen, RowCut cut, out TokenBatch batch)
    {
        batch = null!;
        int pieces = PiecesPerRow(seqLen, cut);
        if (!TryNextRows(out var rows)) return false;
        int t = seqLen, n = rows.Length * pieces;
        var inputs = new long[(long)n * t];
        var labels = new long[(long)n * t];
        var pieceRows = new long[n];
        var buffer = new long[t + 1];
        for (int i = 0; i < rows.Length; i++)
            for (int p = 0; p < pieces; p++)
            {
                int k = i * pieces + p;
                ReadRow(rows[i], p * t, buffer);
                buffer.AsSpan(0, t).CopyTo(inputs.AsSpan(k * t, t));
                buffer.AsSpan(1, t).CopyTo(labels.AsSpan(k * t, t));
                pieceRows[k] = rows[i];
            }
        batch = new TokenBatch(
            tensor(inputs, [n, t], ScalarType.Int64),   // (B·P, T)
            tensor(labels, [n, t], ScalarType.Int64),   // (B·P, T)
            pieceRows, State.Epoch);
        return true;
    }

    /// <summary>Sequences one row yields at <paramref name="seqLen"/> under <paramref name="cut"/> (checks the length).</summary>
    public int PiecesPerRow(int seqLen, RowCut cut)
    {
        if (seqLen < 1 || seqLen > SeqLen)
            throw new DeepenException($"sequence length {seqLen}: must be in [1, {SeqLen}] for shards with rows of {RowLength} tokens.");
        if (cut == RowCut.Truncate) return 1;
        if (SeqLen % seqLen != 0)
            throw new DeepenException($"sequence length {seqLen} does not divide the stored {SeqLen}, so rows cannot be split without loss; use a divisor or RowCut.Truncate.");
        return SeqLen / seqLen;
    }

    /// <summary>Copies <c>dest.Length</c> tokens of global row <paramref name="row"/> starting at token <paramref name="start"/>.</summary>
    public void ReadRow(long row, int start, Span<long> dest)
    {
        if ((ulong)row >= (ulong)RowCount) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} of {RowCount}.");
        int s = Array.BinarySearch(_starts, row);
        if (s < 0) s = ~s - 1;
        while (s + 1 < _starts.Length && _starts[s + 1] == row) s++;   // skip empty shards that share a start
        _shards[s].ReadRow(row - _starts[s], start, dest);
    }

    private int[] Order(int epoch)
    {
        if (_orderEpoch != epoch)
        {
            _order = DeterministicShuffle.Permutation(RowCount, _options.Seed + epoch);
            _orderEpoch = epoch;
        }
        return _order!;
    }

    public void Dispose()
    {
        foreach (var s in _shards) s.Dispose();
    }
}
