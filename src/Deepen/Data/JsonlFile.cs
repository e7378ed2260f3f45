using System.Text.Encodings.Web;
using System.Text.Json;

namespace Deepen.Data;

/// <summary>JSONL written to a temporary file and renamed when complete, so a failed run leaves no half-written file.</summary>
public static class JsonlFile
{
    /// <summary>Writes one JSON object per item (its fields by <paramref name="fields"/>); returns the number written.</summary>
    public static int Write<T>(string path, IEnumerable<T> items, Action<Utf8JsonWriter, T> fields)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp-" + Environment.ProcessId;
        int count = 0;
        try
        {
            using (var stream = File.Create(tmp))
            {
                var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
                foreach (var item in items)
                {
                    using (var writer = new Utf8JsonWriter(stream, options))
                    {
                        writer.WriteStartObject();
                        fields(writer, item);
                        writer.WriteEndObject();
                    }
                    stream.WriteByte((byte)'\n');
                    count++;
                }
            }
            File.Move(tmp, full, overwrite: true);
            return count;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
