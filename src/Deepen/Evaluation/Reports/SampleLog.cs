using Deepen.Checkpoints;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deepen.Evaluation.Reports;

/// <summary>
/// <c>samples.jsonl</c>: one line per (model, task, recurrence, document) with prompt, completion, what each
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
        foreach (var s in run.Samples) w.WriteLine(ToJson(run.Task, run.Recurrence, s, run.Model).ToJsonString(Compact));
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

    /// <summary>
    /// One sample as a <c>samples.jsonl</c> line: <c>model</c> (in a multi-model sweep), <c>task</c>, <c>recurrence</c>,
    /// <c>doc</c>, <c>prompt</c>, <c>completion</c> (the generation cut at its stop string; for multiple choice the chosen
    /// continuation), <c>gold</c>; each filter's extraction under its short name (<c>strict-match</c> → <c>strict</c>,
    /// <c>flexible-extract</c> → <c>flexible</c>) and each metric's verdict as <c>correct_{short}</c>
    /// (<c>exact_match,strict-match</c> → <c>correct_strict</c>, <c>acc_norm</c> → <c>correct_acc_norm</c>), booleans when every
    /// score is 0 or 1, else numbers; then the same under lm-eval's full names in <c>extracted</c> and
    /// <c>correct</c> (or <c>scores</c>), and the task's <c>extra</c> details.
    /// </summary>
    public static JsonObject ToJson(string task, int recurrence, EvalSample s, string? model = null)
    {
        bool binary = s.Scores.Values.All(v => v is 0 or 1);
        JsonNode Score(double v) => binary ? JsonValue.Create(v == 1) : JsonValue.Create(v);
        var o = new JsonObject();
        if (model is not null) o["model"] = model;
        o["task"] = task;
        o["recurrence"] = recurrence;
        o["doc"] = s.Doc;
        o["prompt"] = s.Prompt;
        o["completion"] = s.Response;
        o["gold"] = s.Gold;
        foreach (var (k, v) in s.Extracted) o.TryAdd(ShortName(k), v);
        foreach (var (k, v) in s.Scores) o.TryAdd("correct_" + ShortName(k), Score(v));
        o["extracted"] = new JsonObject(s.Extracted.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        o[binary ? "correct" : "scores"] = new JsonObject(s.Scores.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Score(kv.Value))));
        if (s.Extra is not null) o["extra"] = s.Extra.DeepClone();
        return o;
    }

    /// <summary>
    /// The short field name of a filter or metric: a metric's filter after the comma (<c>exact_match,strict-match</c> →
    /// <c>strict-match</c>), then the part before the first '-' (<c>strict</c>); a name without either as it is (<c>acc_norm</c>).
    /// </summary>
    public static string ShortName(string name)
    {
        int comma = name.LastIndexOf(',');
        if (comma >= 0) name = name[(comma + 1)..];
        int dash = name.IndexOf('-');
        return dash > 0 ? name[..dash] : name;
    }
}
