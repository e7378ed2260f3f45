using System.Text.Json.Serialization;
using Deepen.Tokenization;

namespace Deepen.Data;

/// <summary>
/// The descriptive part of a token shard's header (stored as JSON after the fixed binary fields): what
/// tokenized the rows, from what, and how.
/// </summary>
public sealed record TokenShardMetadata
{
    /// <summary><see cref="ITokenEncoder.Fingerprint"/> of the tokenizer that produced the ids.</summary>
    [JsonPropertyName("tokenizer_fingerprint")] public required string TokenizerFingerprint { get; init; }
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("bos_id")] public int? BosId { get; init; }
    [JsonPropertyName("eos_id")] public int? EosId { get; init; }
    /// <summary>Where the documents came from (one line per source, see <see cref="DocumentSource.Description"/>).</summary>
    [JsonPropertyName("source")] public string Source { get; init; } = "";
    /// <summary>Seed that chose the held-out rows.</summary>
    [JsonPropertyName("seed")] public long Seed { get; init; }
    /// <summary><c>train</c> or <c>val</c>.</summary>
    [JsonPropertyName("split")] public string Split { get; init; } = "";
    /// <summary>Always <c>wrapped</c>: documents concatenated and cut into rows of the row length.</summary>
    [JsonPropertyName("packing")] public string Packing { get; init; } = "wrapped";
    /// <summary>What happened to the last, shorter-than-a-row piece of the token stream: <c>dropped</c>.</summary>
    [JsonPropertyName("final_partial_row")] public string FinalPartialRow { get; init; } = "dropped";
}
