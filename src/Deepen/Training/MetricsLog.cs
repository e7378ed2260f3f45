using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deepen.Training;

/// <summary>
/// <c>metrics.jsonl</c>: one JSON object per optimizer step and per validation, appended and flushed
/// as it happens. On resume, rows after the resumed step (written by a run that died after its last
/// checkpoint) are dropped, so the file always tells one consistent trajectory.
/// </summary>
public sealed class MetricsLog(string path)
{
    public const string FileName = "metrics.jsonl";
    public string Path { get; } = path;

    public void Append(JsonObject row) => File.AppendAllText(Path, row.ToJsonString() + "\n");

    public void TruncateAfter(long step)
    {
        if (!File.Exists(Path)) return;
        var keep = File.ReadLines(Path).Where(l =>
        {
            if (string.IsNullOrWhiteSpace(l)) return false;
            try { return (JsonNode.Parse(l)?["step"]?.GetValue<long>() ?? 0) <= step; }
            catch (JsonException) { return false; }   // a line cut by a crash
        }).ToList();
        var tmp = Path + ".tmp";
        File.WriteAllLines(tmp, keep);
        File.Move(tmp, Path, overwrite: true);
    }

    public static IReadOnlyList<JsonObject> Read(string path) =>
        File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
}
