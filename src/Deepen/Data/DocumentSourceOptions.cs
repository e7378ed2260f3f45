namespace Deepen.Data;

/// <summary>How inputs are read into documents.</summary>
/// <param name="DocSplit">How plain text files are cut into documents.</param>
/// <param name="TextField">JSONL key whose value is a document (a string, or an array of token ids).</param>
/// <param name="ParquetColumn">Parquet column to read; null means <paramref name="TextField"/> when present, else <c>input_ids</c>.</param>
public sealed record DocumentSourceOptions(
    DocumentSplit DocSplit = DocumentSplit.File,
    string TextField = "text",
    string? ParquetColumn = null);
