using System.Text;
using System.Text.Json;

namespace Deepen.Data;

/// <summary>
/// A JSON Lines file: each non-blank line is a JSON object, and its <see cref="TextField"/> value is one
/// document: a string (text) or an array of integers (token ids, packed as they are). A null value is an
/// empty document (skipped).
/// </summary>
public sealed class JsonlSource(string path, string textField) : DocumentSource(path)
{
    public string TextField { get; } = textField;

    public override string Description => $"jsonl:{Path}[{TextField}]";

    public override IEnumerable<SourceDocument> ReadDocuments()
    {
        using var reader = new StreamReader(Path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        long lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return ParseLine(line, lineNo);
        }
    }

    private SourceDocument ParseLine(string line, long lineNo)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { throw new DeepenException($"{Path}:{lineNo}: not valid JSON ({e.Message})."); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new DeepenException($"{Path}:{lineNo}: expected a JSON object per line, found {root.ValueKind}.");
            if (!root.TryGetProperty(TextField, out var value))
            {
                var keys = string.Join(", ", root.EnumerateObject().Select(p => p.Name));
                throw new DeepenException($"{Path}:{lineNo}: no field '{TextField}' (the line has: {keys}); choose one with `text_field`.");
            }
            return value.ValueKind switch
            {
                JsonValueKind.String => SourceDocument.FromText(value.GetString()!),
                JsonValueKind.Null => SourceDocument.FromText(""),
                JsonValueKind.Array => SourceDocument.FromIds(ReadIds(value, lineNo)),
                _ => throw new DeepenException($"{Path}:{lineNo}: field '{TextField}' is a {value.ValueKind}; expected a string or an array of token ids."),
            };
        }
    }

    private int[] ReadIds(JsonElement array, long lineNo)
    {
        var ids = new int[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i]) || ids[i] < 0)
                throw new DeepenException($"{Path}:{lineNo}: field '{TextField}' item {i} is {item.GetRawText()}; expected a non-negative 32-bit token id.");
            i++;
        }
        return ids;
    }
}
