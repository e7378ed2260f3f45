namespace Deepen.Data;

/// <summary>
/// "Wrapped" packing (trl's <c>pack_dataset(strategy="wrapped")</c>): tokens of consecutive documents
/// are concatenated into one stream and cut into rows of exactly the given row length; a
/// document may straddle rows. Each complete row is handed to the sink at once; the tokens left in an
/// unfinished row at the end are <see cref="Pending"/> (the preparer drops them).
/// </summary>
public sealed class WrappedRowPacker
{
    private readonly int[] _row;
    private readonly Action<ReadOnlySpan<int>> _emit;
    private int _fill;

    public WrappedRowPacker(int rowLength, Action<ReadOnlySpan<int>> emit)
    {
        if (rowLength < 2) throw new DeepenException($"row length {rowLength}: a row needs at least 2 tokens (`seq_len` ≥ 1).");
        _row = new int[rowLength];
        _emit = emit;
    }

    /// <summary>Complete rows emitted so far.</summary>
    public long Rows { get; private set; }

    /// <summary>All tokens added so far (in emitted rows and pending).</summary>
    public long Tokens { get; private set; }

    /// <summary>Tokens waiting in the unfinished last row.</summary>
    public int Pending => _fill;

    public void Add(ReadOnlySpan<int> tokens)
    {
        Tokens += tokens.Length;
        while (!tokens.IsEmpty)
        {
            int n = Math.Min(tokens.Length, _row.Length - _fill);
            tokens[..n].CopyTo(_row.AsSpan(_fill));
            _fill += n;
            tokens = tokens[n..];
            if (_fill == _row.Length)
            {
                _emit(_row);
                Rows++;
                _fill = 0;
            }
        }
    }

    public void Add(int token) => Add([token]);
}
