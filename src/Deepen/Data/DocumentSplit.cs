namespace Deepen.Data;

/// <summary>How a plain text file is cut into documents (<c>--doc-split</c>).</summary>
public enum DocumentSplit
{
    /// <summary>The whole file is one document (default).</summary>
    File,
    /// <summary>Blocks separated by one or more blank (whitespace-only) lines are documents.</summary>
    Paragraph,
    /// <summary>Every non-blank line is a document.</summary>
    Line,
}
