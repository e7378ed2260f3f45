namespace Deepen.Data;

/// <summary>What the loader does when an epoch has fewer rows left than one global batch (<c>--on-end</c>).</summary>
public enum DataEndAction
{
    /// <summary>Start the next epoch, reshuffled with seed + epoch.</summary>
    Wrap,
    /// <summary>Hand out no more batches.</summary>
    Stop,
}

/// <summary>
/// The loader reached the end of an epoch. <see cref="RowsConsumed"/> rows of that epoch were handed
/// out; <see cref="RowsLeftOver"/> (fewer than one global batch) are skipped.
/// </summary>
public sealed record DataExhausted(int Epoch, long RowsConsumed, long RowsLeftOver, DataEndAction Action, string Message);

/// <summary>How a row is cut when the wanted sequence length is shorter than the stored one (a sequence-length curriculum).</summary>
public enum RowCut
{
    /// <summary>Keep the first seq_len + 1 tokens of each row; the rest of the row is not used.</summary>
    Truncate,
    /// <summary>
    /// Cut each row into (L − 1) / seq_len consecutive pieces of seq_len + 1 tokens that overlap by one
    /// token, so every label of the row is used exactly once (lossless); requires seq_len to divide L − 1.
    /// The batch then holds B × pieces sequences: the same tokens per step as full rows.
    /// </summary>
    Split,
}
