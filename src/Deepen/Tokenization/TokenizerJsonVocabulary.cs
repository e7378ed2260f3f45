using System.Text.Json;

namespace Deepen.Tokenization;

/// <summary>
/// What <see cref="TokenizerJsonBackend"/> needs from a Hugging Face tokenizer.json beyond what the native library
/// exposes: the token strings of every id, which added tokens are special, and the ids the post_processor puts
/// around a single sequence.
/// </summary>
internal sealed class TokenizerJsonVocabulary
{
    private readonly Dictionary<string, int> tokenToId;
    private readonly string?[] idToToken;

    private TokenizerJsonVocabulary(Dictionary<string, int> tokenToId, Dictionary<int, string> specialTokens,
        int[] prefix, int[] suffix)
    {
        this.tokenToId = tokenToId;
        SpecialTokens = specialTokens;
        Prefix = prefix;
        Suffix = suffix;
        VocabSize = tokenToId.Count == 0 ? 0 : tokenToId.Values.Max() + 1;
        idToToken = new string?[VocabSize];
        foreach (var (token, id) in tokenToId)
            idToToken[id] = token;
    }

    /// <summary>One more than the largest id of the model vocabulary and the added tokens.</summary>
    public int VocabSize { get; }

    /// <summary>Added tokens marked "special": id to content.</summary>
    public IReadOnlyDictionary<int, string> SpecialTokens { get; }

    /// <summary>Ids the post_processor puts before a single sequence.</summary>
    public int[] Prefix { get; }

    /// <summary>Ids the post_processor puts after a single sequence.</summary>
    public int[] Suffix { get; }

    /// <summary>Null when the post_processor is of a kind whose added ids are not known here.</summary>
    public string? UnsupportedPostProcessor { get; private init; }

    public int? TokenToId(string token) => tokenToId.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => id >= 0 && id < idToToken.Length ? idToToken[id] : null;

    /// <exception cref="DeepenException">The JSON is not a tokenizer.json of a known shape.</exception>
    public static TokenizerJsonVocabulary Parse(byte[] json, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var tokenToId = ReadModelVocab(Required(root, "model", path), path);
            var special = new Dictionary<int, string>();
            if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (var t in added.EnumerateArray())
                {
                    var id = Required(t, "id", path).GetInt32();
                    var content = Required(t, "content", path).GetString()
                        ?? throw new DeepenException($"{path}: an added token has a null \"content\"; expected a string.");
                    tokenToId[content] = id;
                    if (t.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True)
                        special[id] = content;
                }
            }
            var prefix = new List<int>();
            var suffix = new List<int>();
            string? unsupported = null;
            if (root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object)
                unsupported = ReadPostProcessor(post, prefix, suffix, path);
            return new TokenizerJsonVocabulary(tokenToId, special, [.. prefix], [.. suffix]) { UnsupportedPostProcessor = unsupported };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new DeepenException($"{path}: not a valid tokenizer.json ({e.Message}).", e);
        }
    }

    private static Dictionary<string, int> ReadModelVocab(JsonElement model, string path)
    {
        var vocab = Required(model, "vocab", path);
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        switch (vocab.ValueKind)
        {
            case JsonValueKind.Object: // BPE, WordPiece, WordLevel: {"token": id}
                foreach (var p in vocab.EnumerateObject())
                    result[p.Name] = p.Value.GetInt32();
                break;
            case JsonValueKind.Array: // Unigram: [["piece", score], ...], id = position
                var id = 0;
                foreach (var entry in vocab.EnumerateArray())
                    result[entry[0].GetString() ?? ""] = id++;
                break;
            default:
                throw new DeepenException($"{path}: model.vocab is {vocab.ValueKind}; expected an object (BPE, WordPiece, WordLevel) or a list (Unigram).");
        }
        return result;
    }

    /// <summary>Collects the ids a post_processor adds around one sequence; returns the type name when unknown.</summary>
    private static string? ReadPostProcessor(JsonElement post, List<int> prefix, List<int> suffix, string path)
    {
        var type = Required(post, "type", path).GetString();
        switch (type)
        {
            case "ByteLevel":
                return null;
            case "Sequence":
                foreach (var inner in Required(post, "processors", path).EnumerateArray())
                {
                    var innerUnsupported = ReadPostProcessor(inner, prefix, suffix, path);
                    if (innerUnsupported is not null)
                        return innerUnsupported;
                }
                return null;
            case "TemplateProcessing":
                // A later processor wraps the output of the earlier ones.
                var specials = Required(post, "special_tokens", path);
                var before = new List<int>();
                var after = new List<int>();
                var seenSequence = false;
                foreach (var piece in Required(post, "single", path).EnumerateArray())
                {
                    if (piece.TryGetProperty("Sequence", out _))
                    {
                        seenSequence = true;
                        continue;
                    }
                    var name = Required(Required(piece, "SpecialToken", path), "id", path).GetString() ?? "";
                    var ids = Required(Required(specials, name, path), "ids", path).EnumerateArray().Select(i => i.GetInt32());
                    (seenSequence ? after : before).AddRange(ids);
                }
                prefix.InsertRange(0, before);
                suffix.AddRange(after);
                return null;
            case "BertProcessing":
            case "RobertaProcessing":
                // "cls": ["<s>", 0], "sep": ["</s>", 2]: [CLS] $A [SEP]
                prefix.Insert(0, Required(post, "cls", path)[1].GetInt32());
                suffix.Add(Required(post, "sep", path)[1].GetInt32());
                return null;
            default:
                return type ?? "(no type)";
        }
    }

    private static JsonElement Required(JsonElement e, string name, string path) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v)
            ? v
            : throw new DeepenException($"{path}: a \"{name}\" field is missing where tokenizer.json has one.");
}
