using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public ScalarType ScalarType(string file) => SafetensorsDType.ToScalarType(DType, file, Name);
}

/// <summary>
/// A safetensors file opened for reading one tensor at a time: an 8-byte little-endian header length,
/// a JSON header (dtype, shape, data_offsets relative to the data section), then raw little-endian data.
/// The header is validated on open; tensors are read on demand, so a large checkpoint never needs two
/// full copies in memory.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafetensorsFile(string path, FileStream stream, long dataStart,
        Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path; _stream = stream; _dataStart = dataStart; Entries = entries; Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new DeepenException($"{path}: safetensors file not found.");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        try { return Parse(path, stream); }
        catch { stream.Dispose(); throw; }
    }

    private static SafetensorsFile Parse(string path, FileStream stream)
    {
        long length = stream.Length;
        if (length < 8) throw new DeepenException($"{path}: truncated safetensors file ({length} bytes; expected at least an 8-byte header length).");
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        long headerLen = BitConverter.ToInt64(lenBytes);
        if (headerLen <= 0 || headerLen > 100_000_000 || 8 + headerLen > length)
            throw new DeepenException($"{path}: truncated or corrupt safetensors file (header length {headerLen}, file length {length}).");
        var header = new byte[headerLen];
        stream.ReadExactly(header);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new DeepenException($"{path}: safetensors header is not valid JSON ({e.Message}).", e); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new DeepenException($"{path}: safetensors header must be a JSON object.");
        long dataStart = 8 + headerLen, dataLen = length - dataStart;
        var entries = new Dictionary<string, SafetensorsEntry>();
        var metadata = new Dictionary<string, string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind == JsonValueKind.Object)
                    foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.ToString();
                continue;
            }
            var entry = ParseEntry(path, prop);
            if (entry.End > dataLen)
                throw new DeepenException($"{path}: tensor '{prop.Name}' ends at byte {entry.End} of the data section, but the file holds only {dataLen} data bytes (truncated file?).");
            entries[prop.Name] = entry;
        }
        return new SafetensorsFile(path, stream, dataStart, entries, metadata);
    }

    private static SafetensorsEntry ParseEntry(string path, JsonProperty prop)
    {
        try
        {
            var v = prop.Value;
            string dtype = v.GetProperty("dtype").GetString()!;
            long[] shape = v.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long[] offsets = v.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                throw new DeepenException($"{path}: tensor '{prop.Name}' has invalid data_offsets.");
            var scalar = SafetensorsDType.ToScalarType(dtype, path, prop.Name);
            long expected = shape.Aggregate(1L, (a, b) => a * b) * SafetensorsDType.ElementSize(scalar);
            if (offsets[1] - offsets[0] != expected)
                throw new DeepenException($"{path}: tensor '{prop.Name}' has {offsets[1] - offsets[0]} bytes but dtype {dtype} and shape [{string.Join(", ", shape)}] need {expected}.");
            return new SafetensorsEntry(prop.Name, dtype, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new DeepenException($"{path}: tensor '{prop.Name}' has a malformed header entry (expected dtype, shape and data_offsets).", e);
        }
    }

    public bool Contains(string name) => Entries.ContainsKey(name);

    /// <summary>Reads one tensor, converted to <paramref name="dtype"/> when given.</summary>
    public Tensor Read(string name, ScalarType? dtype = null)
    {
        if (!Entries.TryGetValue(name, out var e))
            throw new DeepenException($"{Path}: tensor '{name}' not found.");
        var stored = e.ScalarType(Path);
        var bytes = new byte[e.End - e.Begin];
        lock (_stream)
        {
            _stream.Seek(_dataStart + e.Begin, SeekOrigin.Begin);
            _stream.ReadExactly(bytes);
        }
        var t = torch.empty(e.Shape, stored);
        if (bytes.Length > 0) t.bytes = bytes;
        if (dtype is { } d && d != stored)
        {
            var converted = t.to_type(d);
            t.Dispose();
            return converted;
        }
        return t;
    }

    public void Dispose() => _stream.Dispose();
}
