using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deepen.Modeling;

/// <summary>Reads an HF <c>config.json</c> of model_type <c>llama</c> or <c>olmo2</c>.</summary>
public static class HfConfig
{
    public const string FileName = "config.json";
    public static readonly string[] SupportedTypes = ["llama", "olmo2"];

    public static JsonObject ReadJson(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!Directory.Exists(dir)) throw new DeepenException($"{dir}: model directory not found.");
        if (!File.Exists(path)) throw new DeepenException($"{path}: missing; a model directory needs a config.json.");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new DeepenException($"{path}: expected a JSON object.");
        }
        catch (JsonException e) { throw new DeepenException($"{path}: not valid JSON ({e.Message}).", e); }
    }

    public static string ModelTypeOf(JsonObject json) => json["model_type"]?.GetValue<string>() ?? "";

    public static ModelConfig Load(string dir) => Parse(ReadJson(dir), Path.Combine(dir, FileName));

    public static ModelConfig Parse(JsonObject j, string path)
    {
        var type = ModelTypeOf(j);
        if (!SupportedTypes.Contains(type))
            throw new DeepenException($"{path}: model_type '{type}' is not supported; expected one of {string.Join(", ", SupportedTypes)}" +
                (type == "huginn_raven" ? " (this is a recurrent model; use it where a recurrent model is expected)." : "."));
        var r = new JsonReader(j, path);
        int hidden = r.Int("hidden_size"), heads = r.Int("num_attention_heads");
        return new ModelConfig
        {
            ModelType = type,
            VocabSize = r.Int("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = r.Int("intermediate_size"),
            NumLayers = r.Int("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = r.IntOr("num_key_value_heads", heads),
            HeadDim = r.IntOr("head_dim", hidden / heads),
            RmsNormEps = r.DoubleOr("rms_norm_eps", 1e-6),
            RopeTheta = r.DoubleOr("rope_theta", 10000.0),
            RopeScaling = ParseRopeScaling(j["rope_scaling"], path),
            TieWordEmbeddings = r.BoolOr("tie_word_embeddings", false),
            MaxPositionEmbeddings = r.IntOr("max_position_embeddings", 2048),
            BosTokenId = r.IntOrNull("bos_token_id"),
            EosTokenIds = r.IntList("eos_token_id"),
            TorchDtype = j["torch_dtype"]?.GetValue<string>(),
            Style = type == "olmo2" ? BlockStyle.PostNormQkNorm : BlockStyle.PreNorm,
        }.Validated(path);
    }

    public static RopeScaling? ParseRopeScaling(JsonNode? node, string path)
    {
        if (node is not JsonObject o) return null;
        var r = new JsonReader(o, path + " rope_scaling");
        var type = o["rope_type"]?.GetValue<string>() ?? o["type"]?.GetValue<string>() ?? "";
        if (type == "default") return null;
        if (type != "llama3")
            throw new DeepenException($"{path}: rope_scaling type '{type}' is not supported; expected 'llama3' or none.");
        return new RopeScaling(type, r.Double("factor"), r.DoubleOr("low_freq_factor", 1.0),
            r.DoubleOr("high_freq_factor", 4.0), r.IntOr("original_max_position_embeddings", 8192));
    }

    public static ModelConfig Validated(this ModelConfig c, string path)
    {
        void Positive(string key, long v) { if (v <= 0) throw new DeepenException($"{path}: '{key}' must be positive, got {v}."); }
        Positive("vocab_size", c.VocabSize); Positive("hidden_size", c.HiddenSize); Positive("intermediate_size", c.IntermediateSize);
        Positive("num_hidden_layers", c.NumLayers); Positive("num_attention_heads", c.NumHeads);
        Positive("num_key_value_heads", c.NumKvHeads); Positive("head_dim", c.HeadDim);
        if (c.NumHeads % c.NumKvHeads != 0)
            throw new DeepenException($"{path}: num_attention_heads ({c.NumHeads}) must be a multiple of num_key_value_heads ({c.NumKvHeads}).");
        if (c.HeadDim % 2 != 0) throw new DeepenException($"{path}: head_dim ({c.HeadDim}) must be even for rotary embeddings.");
        return c;
    }
}

/// <summary>Typed reads from a JSON object with errors that name the file and the key.</summary>
internal readonly struct JsonReader(JsonObject obj, string path)
{
    private JsonNode Required(string key) =>
        obj[key] ?? throw new DeepenException($"{path}: missing required key '{key}'.");

    private T Get<T>(string key, JsonNode node, string expected)
    {
        try { return node.GetValue<T>(); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        { throw new DeepenException($"{path}: '{key}' is {node.ToJsonString()}; expected {expected}.", e); }
    }

    public int Int(string key)
    {
        var n = Required(key);
        double d = Get<double>(key, n, "an integer");
        if (d != Math.Floor(d)) throw new DeepenException($"{path}: '{key}' is {d}; expected an integer.");
        return (int)d;
    }
    public int IntOr(string key, int fallback) => obj[key] is null ? fallback : Int(key);
    public int? IntOrNull(string key) => obj[key] is JsonValue ? Int(key) : null;
    public double Double(string key) => Get<double>(key, Required(key), "a number");
    public double DoubleOr(string key, double fallback) => obj[key] is null ? fallback : Double(key);
    public bool BoolOr(string key, bool fallback) => obj[key] is null ? fallback : Get<bool>(key, obj[key]!, "true or false");
    public string? StringOrNull(string key) => obj[key] is null ? null : Get<string>(key, obj[key]!, "a string");

    public IReadOnlyList<int> IntList(string key) => obj[key] switch
    {
        null => [],
        JsonArray a => a.Select(x => (int)x!.GetValue<double>()).ToArray(),
        _ => [Int(key)],
    };
}
