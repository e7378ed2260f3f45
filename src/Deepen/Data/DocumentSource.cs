namespace Deepen.Data;

/// <summary>One input file that yields documents in a fixed order.</summary>
public abstract class DocumentSource
{
    protected DocumentSource(string path) => Path = path;

    /// <summary>The file this source reads.</summary>
    public string Path { get; }

    /// <summary>A short description for manifests and shard headers, e.g. <c>jsonl:data.jsonl[text]</c>.</summary>
    public abstract string Description { get; }

    /// <summary>The documents of the file, in file order; streamed, so a large file is never held whole (except <see cref="DocumentSplit.File"/>).</summary>
    public abstract IEnumerable<SourceDocument> ReadDocuments();

    /// <summary>
    /// The sources behind <paramref name="inputs"/>, in the given order: a file is read by its extension
    /// (<c>.jsonl</c>/<c>.ndjson</c> → JSONL, <c>.parquet</c> → Parquet, anything else → plain text);
    /// a folder contributes its <c>.txt</c>, <c>.jsonl</c>, <c>.ndjson</c> and <c>.parquet</c> files,
    /// recursively, sorted by ordinal path so the order never depends on the file system.
    /// </summary>
    public static IReadOnlyList<DocumentSource> Open(IEnumerable<string> inputs, DocumentSourceOptions options)
    {
        var sources = new List<DocumentSource>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var files = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => FolderExtensions.Contains(System.IO.Path.GetExtension(f).ToLowerInvariant()))
                    .OrderBy(f => f, StringComparer.Ordinal)
                    .ToList();
                if (files.Count == 0)
                    throw DeepenException.BadSetting("input", $"{input}: the folder has no {string.Join(", ", FolderExtensions)} files.");
                sources.AddRange(files.Select(f => ForFile(f, options)));
            }
            else if (File.Exists(input)) sources.Add(ForFile(input, options));
            else throw DeepenException.BadSetting("input", $"{input}: no such file or folder.");
        }
        if (sources.Count == 0) throw new DeepenException("no inputs given (`input` PATH).");
        return sources;
    }

    private static readonly string[] FolderExtensions = [".txt", ".jsonl", ".ndjson", ".parquet"];

    private static DocumentSource ForFile(string path, DocumentSourceOptions options) =>
        System.IO.Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".jsonl" or ".ndjson" => new JsonlSource(path, options.TextField),
            ".parquet" => new ParquetSource(path, options.ParquetColumn, options.TextField),
            _ => new TextFileSource(path, options.DocSplit),
        };
}
