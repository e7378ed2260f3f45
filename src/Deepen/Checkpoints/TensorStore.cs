using System.Text.Json;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>
/// The weights of a model directory: a single <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>. Maps every tensor name to the file that holds it and reads
/// tensors one at a time.
/// </summary>
public sealed class TensorStore : IDisposable
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    private readonly Dictionary<string, SafetensorsFile> _byName;
    private readonly List<SafetensorsFile> _files;

    public string Directory { get; }
    public IReadOnlyCollection<string> Names => _byName.Keys;
    public IReadOnlyList<SafetensorsFile> Files => _files;

    private TensorStore(string dir, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> byName)
    {
        Directory = dir; _files = files; _byName = byName;
    }

    public static TensorStore Open(string dir)
    {
        var index = System.IO.Path.Combine(dir, IndexFile);
        var single = System.IO.Path.Combine(dir, SingleFile);
        if (File.Exists(index)) return OpenSharded(dir, index);
        string[] files = File.Exists(single) ? [single]
            : System.IO.Directory.Exists(dir) ? System.IO.Directory.GetFiles(dir, "*.safetensors") : [];
        if (files.Length != 1) throw new DeepenException($"{dir}: no weights found; expected {SingleFile} or {IndexFile} with its shards.");
        var f = SafetensorsFile.Open(files[0]);
        return new TensorStore(dir, [f], f.Entries.Keys.ToDictionary(k => k, _ => f));
    }

    private static TensorStore OpenSharded(string dir, string indexPath)
    {
        Dictionary<string, string> weightMap;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw new DeepenException($"{indexPath}: missing the 'weight_map' object (tensor name → shard file).");
            weightMap = wm.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
        }
        catch (JsonException e) { throw new DeepenException($"{indexPath}: not valid JSON ({e.Message}).", e); }

        var files = new Dictionary<string, SafetensorsFile>();
        var byName = new Dictionary<string, SafetensorsFile>();
        try
        {
            foreach (var (name, shard) in weightMap)
            {
                if (!files.TryGetValue(shard, out var f))
                {
                    var shardPath = System.IO.Path.Combine(dir, shard);
                    if (!File.Exists(shardPath))
                        throw new DeepenException($"{indexPath}: tensor '{name}' is mapped to shard '{shard}', which does not exist in {dir}.");
                    files[shard] = f = SafetensorsFile.Open(shardPath);
                }
                if (!f.Contains(name))
                    throw new DeepenException($"{f.Path}: tensor '{name}' is listed in {IndexFile} but not present in the shard.");
                byName[name] = f;
            }
        }
        catch
        {
            foreach (var f in files.Values) f.Dispose();
            throw;
        }
        return new TensorStore(dir, files.Values.ToList(), byName);
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public SafetensorsEntry Entry(string name) => _byName.TryGetValue(name, out var f)
        ? f.Entries[name]
        : throw new DeepenException($"{Directory}: tensor '{name}' is missing from the checkpoint.");

    /// <summary>The entry of <paramref name="name"/>, checked against <paramref name="expectedShape"/> when one is given.</summary>
    public SafetensorsEntry Entry(string name, long[]? expectedShape)
    {
        var entry = Entry(name);
        if (expectedShape is not null && !entry.Shape.SequenceEqual(expectedShape))
            throw new DeepenException($"{FileOf(name)}: tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] but the config implies [{string.Join(", ", expectedShape)}].");
        return entry;
    }

    public string FileOf(string name) => _byName.TryGetValue(name, out var f) ? f.Path : Directory;

    /// <summary>Reads one tensor, checking its shape, converted to <paramref name="dtype"/>.</summary>
    public Tensor Read(string name, long[]? expectedShape = null, ScalarType? dtype = null)
    {
        Entry(name, expectedShape);
        return _byName[name].Read(name, dtype);
    }

    /// <summary>The stored dtype of the floating-point tensors (the most common one).</summary>
    public string StoredDType() => _byName.Select(kv => kv.Value.Entries[kv.Key].DType)
        .GroupBy(d => d).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault() ?? "none";

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
