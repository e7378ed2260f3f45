using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>One tensor to be written: its name, shape and stored dtype.</summary>
public sealed record TensorSpec(string Name, long[] Shape, ScalarType DType);

/// <summary>Writes safetensors files through a temporary file renamed when complete.</summary>
public static class SafetensorsWriter
{
    /// <param name="tensors">name → tensor, written in the given order; floating-point tensors are converted to <paramref name="dtype"/> when given.</param>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        ScalarType? dtype = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        var specs = items.Select(kv => new TensorSpec(kv.Key, kv.Value.shape,
            dtype is { } d && kv.Value.is_floating_point() ? d : kv.Value.dtype)).ToList();
        WriteStreaming(path, specs, name => items[name], metadata);
    }

    /// <summary>
    /// Writes tensors produced one at a time by <paramref name="produce"/>, so that a large checkpoint
    /// is never held in memory whole. The header is computed from <paramref name="specs"/> first; each
    /// produced tensor must have its spec's shape and is converted to its spec's dtype. Tensors created
    /// by <paramref name="produce"/> are disposed after they are written.
    /// </summary>
    public static void WriteStreaming(string path, IReadOnlyList<TensorSpec> specs, Func<string, Tensor> produce,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var s in specs)
        {
            long size = s.Shape.Aggregate(1L, (a, b) => a * b) * SafetensorsDType.ElementSize(s.DType);
            header[s.Name] = new { dtype = SafetensorsDType.FromScalarType(s.DType), shape = s.Shape, data_offsets = new[] { offset, offset + size } };
            offset += size;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;   // keep the data section 8-byte aligned, as the reference writer does
        var headerBytes = new byte[json.Length + pad];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < headerBytes.Length; i++) headerBytes[i] = (byte)' ';

        var tmp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                fs.Write(BitConverter.GetBytes((long)headerBytes.Length));
                fs.Write(headerBytes);
                foreach (var s in specs)
                {
                    using var scope = NewDisposeScope();
                    var t = produce(s.Name);
                    if (!t.shape.SequenceEqual(s.Shape))
                        throw new InvalidOperationException($"tensor '{s.Name}' has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", s.Shape)}]");
                    var c = t.detach().to(CPU).to_type(s.DType).contiguous();
                    if (c.numel() > 0) fs.Write(c.bytes);
                }
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            if (File.Exists(tmp)) File.Delete(tmp);
            throw;
        }
    }
}
