namespace Deepen.Data;

/// <summary>
/// One document from a source: either text (to be tokenized) or token ids that were tokenized before
/// (a Parquet list column or a JSONL array), which are packed as they are.
/// </summary>
public readonly record struct SourceDocument(string? Text, int[]? Ids)
{
    public static SourceDocument FromText(string text) => new(text, null);
    public static SourceDocument FromIds(int[] ids) => new(null, ids);

    /// <summary>True when the document has no characters / no ids (such documents are skipped).</summary>
    public bool IsEmpty => Text is null ? Ids is null || Ids.Length == 0 : Text.Length == 0;
}
