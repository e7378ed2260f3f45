using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deepen.Evaluation;

/// <summary>Reads evaluation data: one JSON object per line, blank lines skipped.</summary>
public static class EvalJsonl
{
    /// <summary>A row of a JSONL file with its 1-based line number (for error messages).</summary>
    public sealed record Row(int Line, JsonObject Json);

    /// <summary>All objects in <paramref name="path"/>, in file order.</summary>
    public static IReadOnlyList<Row> Read(string path)
    {
        if (!File.Exists(path)) throw new DeepenException($"{path}: file not found; expected a JSONL file (one JSON object per line).");
        var rows = new List<Row>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(text); }
            catch (JsonException e) { throw new DeepenException($"{path}:{line}: not valid JSON ({e.Message}).", e); }
            if (node is not JsonObject obj) throw new DeepenException($"{path}:{line}: expected a JSON object, got {node?.GetValueKind().ToString() ?? "null"}.");
            rows.Add(new Row(line, obj));
        }
        if (rows.Count == 0) throw new DeepenException($"{path}: no rows; expected at least one JSON object.");
        return rows;
    }

    /// <summary>The field as text: a string as is, a number or boolean as its JSON text.</summary>
    public static string Text(string path, Row row, string field)
    {
        var node = row.Json[field];
        if (node is null)
            throw new DeepenException($"{path}:{row.Line}: field '{field}' is missing; the row has {string.Join(", ", row.Json.Select(p => $"'{p.Key}'"))}.");
        return node.GetValueKind() switch
        {
            JsonValueKind.String => node.GetValue<string>(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => node.ToJsonString(),
            var k => throw new DeepenException($"{path}:{row.Line}: field '{field}' is {k}; expected a string or a number."),
        };
    }
}
