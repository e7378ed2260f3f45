using System.Text.Encodings.Web;
using System.Text.Json;

namespace Deepen.Data;

/// <summary>What <c>deepen data prepare</c> wrote, saved as <c>manifest.json</c> beside the shards (snake_case keys).</summary>
public sealed record DataManifest
{
    public string Format { get; init; } = "deepen-token-shards/1";
    public string? Command { get; init; }
    public required string TokenizerFingerprint { get; init; }
    public int VocabSize { get; init; }
    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public required string Dtype { get; init; }
    public int SeqLen { get; init; }
    public int RowLength { get; init; }
    /// <summary>How documents became rows: wrapped packing, BOS by the tokenizer, EOS appended to text documents.</summary>
    public string Packing { get; init; } = "wrapped: Encode(text, addSpecialTokens: true) + [eos] per text document; pre-tokenized documents as they are; concatenated and cut into rows";
    public string FinalPartialRow { get; init; } = "dropped";
    public long DroppedTokens { get; init; }
    public long Seed { get; init; }
    public double? HoldoutFraction { get; init; }
    public long? HoldoutRowsRequested { get; init; }
    public required string DocSplit { get; init; }
    public required string TextField { get; init; }
    public string? ParquetColumn { get; init; }
    public long Documents { get; init; }
    public long EmptyDocumentsSkipped { get; init; }
    /// <summary>Tokens produced, including the dropped tail.</summary>
    public long Tokens { get; init; }
    public required DataSplitInfo Train { get; init; }
    public required DataSplitInfo Val { get; init; }
    public required IReadOnlyList<DataSourceInfo> Sources { get; init; }
    public double ElapsedSeconds { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static DataManifest Read(string path)
    {
        try { return JsonSerializer.Deserialize<DataManifest>(File.ReadAllText(path), Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new DeepenException($"{path}: not a valid data manifest ({e.Message}).", e); }
    }
}

/// <summary>One output shard: its file name (relative to the manifest) and size.</summary>
public sealed record DataSplitInfo(string File, long Rows, long Tokens);

/// <summary>One input and what it contributed.</summary>
public sealed record DataSourceInfo(string Source, long Documents, long Tokens);
