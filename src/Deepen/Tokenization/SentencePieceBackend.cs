using Microsoft.ML.Tokenizers;

namespace Deepen.Tokenization;

/// <summary>A SentencePiece tokenizer.model (BPE or Unigram) read by Microsoft.ML.Tokenizers.</summary>
internal sealed class SentencePieceBackend : ITokenizerBackend
{
    private readonly SentencePieceTokenizer tokenizer;
    private readonly string?[] idToToken;

    private SentencePieceBackend(SentencePieceTokenizer tokenizer)
    {
        this.tokenizer = tokenizer;
        VocabSize = tokenizer.Vocabulary.Count == 0 ? 0 : tokenizer.Vocabulary.Values.Max() + 1;
        idToToken = new string?[VocabSize];
        foreach (var (token, id) in tokenizer.Vocabulary)
            idToToken[id] = token;
        ModelBosToken = IdToToken(tokenizer.BeginningOfSentenceId);
        ModelEosToken = IdToToken(tokenizer.EndOfSentenceId);
    }

    /// <summary>Parses the protobuf bytes of a tokenizer.model.</summary>
    /// <exception cref="DeepenException">The bytes are not a SentencePiece model.</exception>
    public static SentencePieceBackend Load(byte[] modelBytes, string path)
    {
        try
        {
            using var stream = new MemoryStream(modelBytes, writable: false);
            // BOS and EOS are added by TextTokenizer (ML.Tokenizers leaves BOS out for empty text; sentencepiece does not).
            return new SentencePieceBackend(SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DeepenException($"{path}: not a SentencePiece model ({e.Message}).", e);
        }
    }

    public string Kind => TextTokenizer.SentencePieceKind;
    public int VocabSize { get; }
    public IReadOnlyList<int> OwnPrefix => [];
    public IReadOnlyList<int> OwnSuffix => [];
    public string? ModelBosToken { get; }
    public string? ModelEosToken { get; }

    public int[] EncodeBody(string text) =>
        [.. tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false)];

    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens) =>
        tokenizer.Decode(ids, considerSpecialTokens: !skipSpecialTokens);

    public int? TokenToId(string token) => tokenizer.Vocabulary.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => id >= 0 && id < idToToken.Length ? idToToken[id] : null;

    public void Dispose()
    {
    }
}
