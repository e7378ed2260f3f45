using System.Text;

namespace Deepen.Data;

/// <summary>
/// A plain UTF-8 text file. <see cref="DocumentSplit.File"/> (default) makes the whole file one document;
/// <see cref="DocumentSplit.Paragraph"/> makes each block between blank lines one document (its lines
/// joined with <c>\n</c>); <see cref="DocumentSplit.Line"/> makes each non-blank line one document.
/// </summary>
public sealed class TextFileSource(string path, DocumentSplit split) : DocumentSource(path)
{
    public DocumentSplit Split { get; } = split;

    public override string Description => $"text:{Path}[{Split.ToString().ToLowerInvariant()}]";

    public override IEnumerable<SourceDocument> ReadDocuments()
    {
        if (Split == DocumentSplit.File)
        {
            yield return SourceDocument.FromText(File.ReadAllText(Path, Encoding.UTF8));
            yield break;
        }
        using var reader = new StreamReader(Path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var block = new StringBuilder();
        while (reader.ReadLine() is { } line)
        {
            bool blank = string.IsNullOrWhiteSpace(line);
            if (Split == DocumentSplit.Line)
            {
                if (!blank) yield return SourceDocument.FromText(line);
                continue;
            }
            if (blank)
            {
                if (block.Length > 0) { yield return SourceDocument.FromText(block.ToString()); block.Clear(); }
                continue;
            }
            if (block.Length > 0) block.Append('\n');
            block.Append(line);
        }
        if (block.Length > 0) yield return SourceDocument.FromText(block.ToString());
    }
}
