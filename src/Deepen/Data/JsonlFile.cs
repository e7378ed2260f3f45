using System.Text.Encodings.Web;
using System.Text.Json;
using Deepen.Checkpoints;

namespace Deepen.Data;

/// <summary>JSONL written to a temporary file and renamed when complete, so a failed run leaves no half-written file.</summary>
public static class JsonlFile
{
    /// <summary>Writes one JSON object per item (its fields by <paramref name="fields"/>); returns the number written.</summary>
    public static int Write<T>(string path, IEnumerable<T> items, Action<Utf8JsonWriter, T> fields)
    {
        int count = 0;
        AtomicFile.Write(path, tmp =>
        {
            using var stream = File.Create(tmp);
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
        });
        return count;
    }
}
