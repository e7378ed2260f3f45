using System.Text;
using Tokenizers.DotNet;

namespace Deepen.Tokenization;

/// <summary>
/// A Hugging Face tokenizer.json run by Hugging Face's Rust tokenizers through Tokenizers.DotNet.
/// </summary>
/// <remarks>
/// Tokenizers.DotNet 1.4.1 exposes only <c>Encode(text)</c>, which always applies the post_processor
/// (add_special_tokens = true), and <c>Decode(ids)</c>, which always skips special tokens. Encoding without
/// special tokens therefore removes the post_processor's known prefix and suffix, and decoding with special
/// tokens decodes the runs between special tokens and writes each special token's content in between.
/// </remarks>
internal sealed class TokenizerJsonBackend : ITokenizerBackend
{
    private readonly Tokenizer native;
    private readonly TokenizerJsonVocabulary vocabulary;
    private readonly string path;

    private TokenizerJsonBackend(Tokenizer native, TokenizerJsonVocabulary vocabulary, string path)
    {
        this.native = native;
        this.vocabulary = vocabulary;
        this.path = path;
    }

    /// <exception cref="DeepenException">The file is not a tokenizer.json the Rust library accepts, or its
    /// post_processor is of a type whose added ids are not known here.</exception>
    public static TokenizerJsonBackend Load(byte[] json, string path)
    {
        var vocabulary = TokenizerJsonVocabulary.Parse(json, path);
        if (vocabulary.UnsupportedPostProcessor is { } type)
            throw new DeepenException(
                $"{path}: the post_processor is of type '{type}', whose special tokens cannot be told apart from the text; "
                + "expected ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing or a Sequence of them.");
        Tokenizer native;
        try
        {
            native = new Tokenizer(path);
        }
        catch (TokenizerException e)
        {
            throw new DeepenException($"{path}: Hugging Face tokenizers could not load it ({e.Message}).", e);
        }
        return new TokenizerJsonBackend(native, vocabulary, path);
    }

    public string Kind => TextTokenizer.TokenizerJsonKind;
    public int VocabSize => vocabulary.VocabSize;
    public IReadOnlyList<int> OwnPrefix => vocabulary.Prefix;
    public IReadOnlyList<int> OwnSuffix => vocabulary.Suffix;
    public string? ModelBosToken => null;
    public string? ModelEosToken => null;

    public int[] EncodeBody(string text)
    {
        var ids = Array.ConvertAll(native.Encode(text), id => checked((int)id));
        var prefix = vocabulary.Prefix;
        var suffix = vocabulary.Suffix;
        if (!ids.AsSpan().StartsWith(prefix) || !ids.AsSpan().EndsWith(suffix) || ids.Length < prefix.Length + suffix.Length)
            throw new InvalidOperationException(
                $"{path}: the post_processor was expected to add [{string.Join(", ", prefix)}] before and "
                + $"[{string.Join(", ", suffix)}] after the text, but the encoding is [{string.Join(", ", ids)}].");
        return ids[prefix.Length..(ids.Length - suffix.Length)];
    }

    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens)
    {
        if (skipSpecialTokens)
            return native.Decode(ids.Select(id => (uint)id).ToArray());
        var text = new StringBuilder();
        var run = new List<uint>();
        foreach (var id in ids)
        {
            if (vocabulary.SpecialTokens.TryGetValue(id, out var content))
            {
                Flush();
                text.Append(content);
            }
            else
            {
                run.Add((uint)id);
            }
        }
        Flush();
        return text.ToString();

        void Flush()
        {
            if (run.Count == 0) return;
            text.Append(native.Decode([.. run]));
            run.Clear();
        }
    }

    public int? TokenToId(string token) => vocabulary.TokenToId(token);

    public string? IdToToken(int id) => vocabulary.IdToToken(id);

    public void Dispose() => native.Dispose();
}
