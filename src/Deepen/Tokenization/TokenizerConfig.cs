using System.Text.Json;

namespace Deepen.Tokenization;

/// <summary>
/// The parts of a model directory's tokenizer_config.json (and, as a fallback for special token ids,
/// generation_config.json and config.json) that <see cref="TextTokenizer"/> uses. Every field is optional.
/// </summary>
internal sealed class TokenizerConfig
{
    public const string FileName = "tokenizer_config.json";
    public const string ChatTemplateFileName = "chat_template.jinja";

    /// <summary>Explicit <c>add_bos_token</c>; null when the file does not say.</summary>
    public bool? AddBosToken { get; private init; }

    /// <summary>Explicit <c>add_eos_token</c>; null when the file does not say.</summary>
    public bool? AddEosToken { get; private init; }

    public string? BosToken { get; private init; }
    public string? EosToken { get; private init; }
    public string? PadToken { get; private init; }
    public string? ChatTemplate { get; private init; }

    /// <summary><c>bos_token_id</c> from generation_config.json, else config.json.</summary>
    public int? ModelBosId { get; private init; }

    /// <summary><c>eos_token_id</c> from generation_config.json, else config.json (the first one when it is a list).</summary>
    public int? ModelEosId { get; private init; }

    /// <summary><c>pad_token_id</c> from generation_config.json, else config.json.</summary>
    public int? ModelPadId { get; private init; }

    /// <summary>Reads the optional configuration files of <paramref name="dir"/>.</summary>
    /// <exception cref="DeepenException">A file exists but is not valid JSON of the expected shape.</exception>
    public static TokenizerConfig Load(string dir)
    {
        using var tokenizerConfig = ReadJson(Path.Combine(dir, FileName));
        using var generationConfig = ReadJson(Path.Combine(dir, "generation_config.json"));
        using var modelConfig = ReadJson(Path.Combine(dir, "config.json"));

        var path = Path.Combine(dir, FileName);
        var root = tokenizerConfig?.RootElement;
        var chatTemplate = root is { } r ? ReadChatTemplate(r, path) : null;
        var jinjaPath = Path.Combine(dir, ChatTemplateFileName);
        if (chatTemplate is null && File.Exists(jinjaPath))
            chatTemplate = File.ReadAllText(jinjaPath);

        return new TokenizerConfig
        {
            AddBosToken = root is { } a ? ReadBool(a, "add_bos_token", path) : null,
            AddEosToken = root is { } b ? ReadBool(b, "add_eos_token", path) : null,
            BosToken = root is { } c ? ReadTokenString(c, "bos_token", path) : null,
            EosToken = root is { } d ? ReadTokenString(d, "eos_token", path) : null,
            PadToken = root is { } e ? ReadTokenString(e, "pad_token", path) : null,
            ChatTemplate = chatTemplate,
            ModelBosId = ReadId(generationConfig, "bos_token_id") ?? ReadId(modelConfig, "bos_token_id"),
            ModelEosId = ReadId(generationConfig, "eos_token_id") ?? ReadId(modelConfig, "eos_token_id"),
            ModelPadId = ReadId(generationConfig, "pad_token_id") ?? ReadId(modelConfig, "pad_token_id"),
        };
    }

    private static JsonDocument? ReadJson(string path)
    {
        if (!File.Exists(path))
            return null;
        try
        {
            var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
                return doc;
            doc.Dispose();
            throw new DeepenException($"{path}: expected a JSON object.");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new DeepenException($"{path}: not readable JSON ({e.Message}).", e);
        }
    }

    private static bool? ReadBool(JsonElement root, string name, string path) =>
        !root.TryGetProperty(name, out var v) ? null : v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null => null,
            _ => throw new DeepenException($"{path}: '{name}' is {v.ValueKind}; expected true, false or null."),
        };

    /// <summary>A special token is written either as a string or as an AddedToken object with "content".</summary>
    private static string? ReadTokenString(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (v.ValueKind == JsonValueKind.String)
            return v.GetString();
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
            return c.GetString();
        throw new DeepenException($"{path}: '{name}' is {v.ValueKind}; expected a string or an object with a string \"content\".");
    }

    /// <summary><c>chat_template</c> is a string, or a list of {"name", "template"} of which "default" is the one used.</summary>
    private static string? ReadChatTemplate(JsonElement root, string path)
    {
        if (!root.TryGetProperty("chat_template", out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (v.ValueKind == JsonValueKind.String)
            return v.GetString();
        if (v.ValueKind != JsonValueKind.Array)
            throw new DeepenException($"{path}: 'chat_template' is {v.ValueKind}; expected a string or a list of {{\"name\", \"template\"}}.");
        foreach (var entry in v.EnumerateArray())
        {
            if (entry.ValueKind == JsonValueKind.Object
                && entry.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default"
                && entry.TryGetProperty("template", out var t) && t.ValueKind == JsonValueKind.String)
                return t.GetString();
        }
        return null;
    }

    /// <summary>Reads an int id, or the first of a list of ids; anything else counts as absent.</summary>
    private static int? ReadId(JsonDocument? doc, string name)
    {
        if (doc is null || !doc.RootElement.TryGetProperty(name, out var v))
            return null;
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0)
            v = v[0];
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var id) ? id : null;
    }
}
