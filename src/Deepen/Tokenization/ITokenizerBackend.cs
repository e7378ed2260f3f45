namespace Deepen.Tokenization;

/// <summary>One tokenizer file format behind <see cref="TextTokenizer"/>.</summary>
internal interface ITokenizerBackend : IDisposable
{
    /// <summary>"tokenizer.json" or "sentencepiece".</summary>
    string Kind { get; }

    /// <summary>One more than the largest token id.</summary>
    int VocabSize { get; }

    /// <summary>Ids the file's own rules put before one encoded sequence (a tokenizer.json post_processor); empty when none.</summary>
    IReadOnlyList<int> OwnPrefix { get; }

    /// <summary>Ids the file's own rules put after one encoded sequence; empty when none.</summary>
    IReadOnlyList<int> OwnSuffix { get; }

    /// <summary>The model's own beginning-of-sequence token when the file declares one (SentencePiece does).</summary>
    string? ModelBosToken { get; }

    /// <summary>The model's own end-of-sequence token when the file declares one.</summary>
    string? ModelEosToken { get; }

    /// <summary>Encodes without adding any special tokens around the text.</summary>
    int[] EncodeBody(string text);

    /// <summary>Decodes ids that are already known to be in the vocabulary.</summary>
    string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens);

    int? TokenToId(string token);

    string? IdToToken(int id);
}
