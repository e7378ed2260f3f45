using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>Writes tensors as one safetensors file, through a temporary file renamed when complete.</summary>
public static class SafetensorsWriter
{
    /// <param name="tensors">name → tensor; written in the given order, converted to <paramref name="dtype"/> when given.</param>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        ScalarType? dtype = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.ToList();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, t) in items)
        {
            var type = dtype is { } d && t.is_floating_point() ? d : t.dtype;
            long size = t.numel() * SafetensorsDType.ElementSize(type);
            header[name] = new { dtype = SafetensorsDType.FromScalarType(type), shape = t.shape, data_offsets = new[] { offset, offset + size } };
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
                foreach (var (_, t) in items)
                {
                    using var scope = NewDisposeScope();
                    var type = dtype is { } d && t.is_floating_point() ? d : t.dtype;
                    var c = t.detach().to(CPU).to_type(type).contiguous();
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
