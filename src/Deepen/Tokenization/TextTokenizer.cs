using System.Security.Cryptography;

namespace Deepen.Tokenization;

/// <summary>
/// The tokenizer of a model directory: a Hugging Face tokenizer.json (run by Hugging Face's Rust tokenizers,
/// so ids match transformers exactly) or, when there is none, a SentencePiece tokenizer.model (run by
/// Microsoft.ML.Tokenizers). Special tokens and the chat template come from tokenizer_config.json.
/// </summary>
/// <remarks>
/// Special tokens added by <see cref="Encode"/>: for tokenizer.json, those of its post_processor (as
/// transformers does); for SentencePiece, BOS and no EOS. In both cases an explicit <c>add_bos_token</c> or
/// <c>add_eos_token</c> in tokenizer_config.json adds or removes BOS at the start and EOS at the end, as
/// transformers' Llama tokenizers do. <see cref="AddsBos"/> and <see cref="AddsEos"/> tell the outcome.
/// </remarks>
public sealed class TextTokenizer : IDisposable, Deepen.Tokenization.ITokenEncoder
{
    /// <summary>The Hugging Face tokenizer file name.</summary>
    public const string TokenizerJsonFileName = "tokenizer.json";

    /// <summary>The SentencePiece model file name.</summary>
    public const string SentencePieceFileName = "tokenizer.model";

    /// <summary><see cref="Kind"/> of a tokenizer read from tokenizer.json.</summary>
    public const string TokenizerJsonKind = "tokenizer.json";

    /// <summary><see cref="Kind"/> of a tokenizer read from a SentencePiece tokenizer.model.</summary>
    public const string SentencePieceKind = "sentencepiece";

    private readonly ITokenizerBackend backend;
    private readonly SpecialTokenFraming framing;
    private bool disposed;

    private TextTokenizer(ITokenizerBackend backend, TokenizerConfig config, string fingerprint, string dir)
    {
        this.backend = backend;
        Fingerprint = fingerprint;
        ChatTemplate = config.ChatTemplate;
        (BosToken, BosId) = ResolveSpecial("bos_token", config.BosToken ?? backend.ModelBosToken, config.ModelBosId, dir);
        (EosToken, EosId) = ResolveSpecial("eos_token", config.EosToken ?? backend.ModelEosToken, config.ModelEosId, dir);
        (_, PadId) = ResolveSpecial("pad_token", config.PadToken, config.ModelPadId, dir);

        var sentencePiece = backend.Kind == SentencePieceKind;
        var addBos = config.AddBosToken ?? (sentencePiece ? true : null);
        var addEos = config.AddEosToken ?? (sentencePiece ? false : null);
        framing = SpecialTokenFraming.Resolve(backend.OwnPrefix, backend.OwnSuffix, addBos, addEos, BosId, EosId);
    }

    /// <summary>Whether <paramref name="dir"/> holds a tokenizer.json or a tokenizer.model.</summary>
    public static bool ExistsIn(string dir) =>
        File.Exists(Path.Combine(dir, TokenizerJsonFileName)) || File.Exists(Path.Combine(dir, SentencePieceFileName));

    /// <summary>
    /// Loads the tokenizer of <paramref name="dir"/>: tokenizer.json when present, else tokenizer.model;
    /// plus the optional tokenizer_config.json (and chat_template.jinja, generation_config.json, config.json).
    /// </summary>
    /// <param name="dir">A model directory in the Hugging Face layout.</param>
    /// <exception cref="DeepenException"><paramref name="dir"/> does not exist, holds neither tokenizer.json nor
    /// tokenizer.model, or a tokenizer or configuration file cannot be read or parsed.</exception>
    public static TextTokenizer FromDirectory(string dir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        var full = Path.GetFullPath(dir);
        if (!Directory.Exists(full))
            throw new DeepenException($"{full}: tokenizer directory not found.");

        var jsonPath = Path.Combine(full, TokenizerJsonFileName);
        var modelPath = Path.Combine(full, SentencePieceFileName);
        var path = File.Exists(jsonPath) ? jsonPath : File.Exists(modelPath) ? modelPath
            : throw new DeepenException(
                $"{full}: no tokenizer found; expected '{TokenizerJsonFileName}' (Hugging Face tokenizers) "
                + $"or '{SentencePieceFileName}' (SentencePiece) in this directory.");

        var bytes = ReadAll(path);
        var config = TokenizerConfig.Load(full);
        ITokenizerBackend backend = path == jsonPath
            ? TokenizerJsonBackend.Load(bytes, path)
            : SentencePieceBackend.Load(bytes, path);
        try { return new TextTokenizer(backend, config, Convert.ToHexStringLower(SHA256.HashData(bytes)), full); }
        catch { backend.Dispose(); throw; }
    }

    /// <summary>"tokenizer.json" or "sentencepiece".</summary>
    public string Kind => backend.Kind;

    /// <summary>Lower-case hex SHA-256 of the bytes of the tokenizer file (tokenizer.json or tokenizer.model).</summary>
    public string Fingerprint { get; }

    /// <summary>One more than the largest token id, added tokens included.</summary>
    public int VocabSize => backend.VocabSize;

    /// <summary>The beginning-of-sequence id, when the tokenizer has one.</summary>
    public int? BosId { get; }

    /// <summary>The end-of-sequence id, when the tokenizer has one.</summary>
    public int? EosId { get; }

    /// <summary>The padding id, when tokenizer_config.json (or the model config) names one.</summary>
    public int? PadId { get; }

    /// <summary>The beginning-of-sequence token, when the tokenizer has one.</summary>
    public string? BosToken { get; }

    /// <summary>The end-of-sequence token, when the tokenizer has one.</summary>
    public string? EosToken { get; }

    /// <summary>
    /// The Jinja chat template: tokenizer_config.json's chat_template (the "default" entry when it is a list of
    /// named templates), else chat_template.jinja; null when there is none.
    /// </summary>
    public string? ChatTemplate { get; }

    /// <summary>Whether <see cref="Encode"/> with special tokens starts the ids with <see cref="BosId"/>.</summary>
    public bool AddsBos => BosId is int bos && framing.Prefix.Count > 0 && framing.Prefix[0] == bos;

    /// <summary>Whether <see cref="Encode"/> with special tokens ends the ids with <see cref="EosId"/>.</summary>
    public bool AddsEos => EosId is int eos && framing.Suffix.Count > 0 && framing.Suffix[^1] == eos;

    /// <summary>Encodes <paramref name="text"/> to token ids.</summary>
    /// <param name="text">The text. In a tokenizer.json, special token strings typed in the text become their ids,
    /// as in transformers; SentencePiece encodes them as plain text.</param>
    /// <param name="addSpecialTokens">Whether to add the tokenizer's special tokens (see the class remarks).</param>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(disposed, this);
        var body = backend.EncodeBody(text);
        return addSpecialTokens ? framing.Frame(body) : body;
    }

    /// <summary>Decodes token ids to text.</summary>
    /// <param name="ids">Ids in [0, <see cref="VocabSize"/>) that the vocabulary holds.</param>
    /// <param name="skipSpecialTokens">Whether to leave special tokens out of the text.</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ObjectDisposedException.ThrowIf(disposed, this);
        for (var i = 0; i < ids.Count; i++)
        {
            if (backend.IdToToken(ids[i]) is null)
                throw new ArgumentOutOfRangeException(nameof(ids),
                    $"Token id {ids[i]} at position {i} is not in the vocabulary (ids 0..{VocabSize - 1}).");
        }
        return backend.Decode(ids, skipSpecialTokens);
    }

    /// <summary>The id of a token in the tokenizer's own spelling (e.g. "Ġworld" byte-level, "▁world" SentencePiece), or null.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return backend.TokenToId(token);
    }

    /// <summary>The token of an id in the tokenizer's own spelling, or null when the id is not in the vocabulary.</summary>
    public string? IdToToken(int id) => backend.IdToToken(id);

    /// <summary>Releases the native tokenizer.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        backend.Dispose();
    }

    private (string? Token, int? Id) ResolveSpecial(string name, string? token, int? fallbackId, string dir)
    {
        if (token is null)
            return fallbackId is int id && backend.IdToToken(id) is { } t ? (t, id) : (null, null);
        return backend.TokenToId(token) is int found
            ? (token, found)
            : throw new DeepenException(
                $"{Path.Combine(dir, TokenizerConfig.FileName)}: {name} '{token}' is not in the tokenizer's vocabulary; expected one of its tokens.");
    }

    private static byte[] ReadAll(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DeepenException($"{path}: could not read the tokenizer file ({e.Message}).", e);
        }
    }
}
