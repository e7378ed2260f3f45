using static TorchSharp.torch;

namespace Deepen.Data;

/// <summary>
/// Where a <see cref="TokenStream"/> stands: the rows in hand (the current row first, then rows already
/// taken from the loader but not yet started) and the offset of the next input token in the current row.
/// </summary>
public sealed record StreamCursor(long[] Rows, int Offset);

/// <summary>
/// Cuts sequences of any length from the loader's rows, read as one stream of tokens in the loader's
/// (shuffled, rank-sharded) row order: sequence k covers stream tokens [k·T, (k+1)·T], so consecutive
/// sequences overlap by one token and every token is a label exactly once — no data is lost or repeated
/// when the length changes from step to step (a sequence-length curriculum). Its cursor is saved with
/// the loader's state for exact resume.
/// </summary>
public sealed class TokenStream(TokenShardLoader loader)
{
    private readonly List<long> _rows = [];
    private int _offset;

    public StreamCursor Cursor => new([.. _rows], _offset);

    public void Restore(StreamCursor cursor)
    {
        _rows.Clear();
        _rows.AddRange(cursor.Rows);
        _offset = cursor.Offset;
    }

    /// <summary>The next <paramref name="batchSize"/> sequences of length <paramref name="seqLen"/>: inputs and labels (B, T).</summary>
    public bool TryNext(int batchSize, int seqLen, out TokenBatch batch)
    {
        batch = null!;
        int length = loader.RowLength;
        var inputs = new long[(long)batchSize * seqLen];
        var labels = new long[(long)batchSize * seqLen];
        var firstRows = new long[batchSize];
        var buffer = new long[seqLen + 1];
        for (int b = 0; b < batchSize; b++)
        {
            int filled = 0, pos = _offset, idx = 0;
            while (filled < seqLen + 1)
            {
                while (idx >= _rows.Count)
                {
                    if (!loader.TryNextRows(out var more)) return false;
                    _rows.AddRange(more);
                }
                int take = Math.Min(length - pos, seqLen + 1 - filled);
                loader.ReadRow(_rows[idx], pos, buffer.AsSpan(filled, take));
                filled += take;
                pos += take;
                if (pos == length) { idx++; pos = 0; }
            }
            firstRows[b] = _rows[0];
            buffer.AsSpan(0, seqLen).CopyTo(inputs.AsSpan(b * seqLen, seqLen));
            buffer.AsSpan(1, seqLen).CopyTo(labels.AsSpan(b * seqLen, seqLen));
            _offset += seqLen;                                   // the next sequence starts at this one's last label
            while (_offset >= length) { _rows.RemoveAt(0); _offset -= length; }
        }
        batch = new TokenBatch(tensor(inputs, [batchSize, seqLen], ScalarType.Int64), tensor(labels, [batchSize, seqLen], ScalarType.Int64),
            firstRows, loader.State.Epoch);
        return true;
    }
}
