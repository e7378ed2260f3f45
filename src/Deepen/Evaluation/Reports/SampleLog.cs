using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deepen.Evaluation.Reports;

/// <summary>
/// <c>samples.jsonl</c>: one line per (task, recurrence, document) with prompt, response, what each
/// filter extracted, the gold answer and whether each metric counted it correct. Lines go to a
/// temporary file as tasks finish; <see cref="Complete"/> renames it, and disposing without completing deletes it.
/// </summary>
public sealed class SampleLog : IDisposable
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly string _path;
    private readonly string _tmp;
    private StreamWriter? _writer;

    /// <summary>Starts a log that will become <paramref name="path"/>.</summary>
    public SampleLog(string path)
    {
        _path = path;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _tmp = AtomicFile.TempPathFor(path);
        _writer = new StreamWriter(_tmp, append: false, new UTF8Encoding(false));
    }

    /// <summary>Appends the samples of one task run.</summary>
    public void Append(TaskRun run)
    {
        var w = _writer ?? throw new ObjectDisposedException(nameof(SampleLog));
        foreach (var s in run.Samples) w.WriteLine(ToJson(run.Task, run.Recurrence, s).ToJsonString(Compact));
        w.Flush();
    }

    /// <summary>Closes the temporary file and renames it to the final name.</summary>
    public void Complete()
    {
        if (_writer is null) throw new ObjectDisposedException(nameof(SampleLog));
        _writer.Dispose();
        _writer = null;
        File.Move(_tmp, _path, overwrite: true);
    }

    /// <summary>Deletes the temporary file unless <see cref="Complete"/> ran.</summary>
    public void Dispose()
    {
        if (_writer is null) return;
        _writer.Dispose();
        _writer = null;
        if (File.Exists(_tmp)) File.Delete(_tmp);
    }

    /// <summary>One sample as a <c>samples.jsonl</c> line: <c>correct</c> holds booleans when every score is 0 or 1, else <c>scores</c> holds numbers.</summary>
    public static JsonObject ToJson(string task, int recurrence, EvalSample s)
    {
        var extracted = new JsonObject();
        foreach (var (k, v) in s.Extracted) extracted[k] = v;
        bool binary = s.Scores.Values.All(v => v is 0 or 1);
        var scores = new JsonObject();
        foreach (var (k, v) in s.Scores) scores[k] = binary ? JsonValue.Create(v == 1) : JsonValue.Create(v);
        var o = new JsonObject
        {
            ["task"] = task, ["recurrence"] = recurrence, ["doc"] = s.Doc,
            ["prompt"] = s.Prompt, ["response"] = s.Response, ["extracted"] = extracted, ["gold"] = s.Gold,
            [binary ? "correct" : "scores"] = scores,
        };
        if (s.Extra is not null) o["extra"] = s.Extra.DeepClone();
        return o;
    }
}
