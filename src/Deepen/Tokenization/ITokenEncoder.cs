namespace Deepen.Tokenization;

/// <summary>
/// What the data pipeline needs from a tokenizer. The members mirror <c>Deepen.Tokenization.TextTokenizer</c>
/// exactly, so that class implements this interface by declaration alone.
/// </summary>
public interface ITokenEncoder
{
    /// <summary>Token ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/> the tokenizer's default special tokens (e.g. BOS) are included.</summary>
    int[] Encode(string text, bool addSpecialTokens = true);

    /// <summary>Number of token ids the tokenizer can produce (ids are in [0, VocabSize)).</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or null when the tokenizer has none.</summary>
    int? BosId { get; }

    /// <summary>End-of-sequence id, or null when the tokenizer has none (packing then refuses to run).</summary>
    int? EosId { get; }

    /// <summary>A string that identifies the tokenizer exactly (sha256 of its file); stored in every token shard.</summary>
    string Fingerprint { get; }
}
