using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deepen.Evaluation;

/// <summary>
/// One number of a sweep: a task's metric at one test-time recurrence. Accuracy tasks give a mean
/// over documents with its standard error; a loss-vs-recurrence task gives e.g. <c>loss</c> over
/// held-out tokens (<see cref="N"/> = tokens, <see cref="Stderr"/> null when it has none).
/// </summary>
/// <param name="Task">Task name.</param>
/// <param name="Metric">Metric name (lm-eval's, e.g. <c>exact_match,flexible-extract</c>, <c>acc_norm</c>).</param>
/// <param name="Recurrence">Test-time recurrence r the model ran with.</param>
/// <param name="Value">The metric's value.</param>
/// <param name="Stderr">Standard error of <see cref="Value"/>, or null.</param>
/// <param name="N">How many samples (documents, or tokens for a loss) the value is over.</param>
/// <param name="Seconds">Wall time of the task at this recurrence (all metrics together).</param>
/// <param name="TokensGenerated">Tokens the model generated for the task at this recurrence (0 for log-likelihood tasks).</param>
/// <param name="Model">Which model the point belongs to, in a sweep over several models (e.g. a recurrent model and its plain
/// baseline); null in a single-model sweep.</param>
public sealed record SweepPoint(string Task, string Metric, int Recurrence, double Value, double? Stderr, long N, double Seconds, long TokensGenerated,
    string? Model = null);

/// <summary>
/// All numbers of a sweep (tasks × metrics × recurrences) plus free-form run information (model,
/// options), optionally for several models (<see cref="SweepPoint.Model"/>). Written as <c>results.json</c> and <c>report.md</c> by <see cref="Reports.SweepReport"/>;
/// other producers (a loss task) add their points the same way.
/// </summary>
public sealed class SweepResult
{
    private readonly List<SweepPoint> _points = [];

    /// <summary>Run information shown at the top of the report (e.g. <c>model</c>, <c>seed</c>).</summary>
    public Dictionary<string, string> Info { get; } = [];

    /// <summary>All points in the order they were added.</summary>
    public IReadOnlyList<SweepPoint> Points => _points;

    /// <summary>Adds points, replacing any earlier point of the same task, metric, recurrence and model.</summary>
    public void Add(IEnumerable<SweepPoint> points)
    {
        foreach (var p in points)
        {
            _points.RemoveAll(q => q.Task == p.Task && q.Metric == p.Metric && q.Recurrence == p.Recurrence && q.Model == p.Model);
            _points.Add(p);
        }
    }

    /// <summary>Model labels in first-seen order (a single null for a single-model sweep).</summary>
    public IReadOnlyList<string?> Models => _points.Select(p => p.Model).Distinct().ToList();

    /// <summary>The models that have points for <paramref name="task"/>, in first-seen order.</summary>
    public IReadOnlyList<string?> ModelsOf(string task) => _points.Where(p => p.Task == task).Select(p => p.Model).Distinct().ToList();

    /// <summary>Task names in first-seen order.</summary>
    public IReadOnlyList<string> Tasks => _points.Select(p => p.Task).Distinct().ToList();

    /// <summary>A task's metrics in first-seen order.</summary>
    public IReadOnlyList<string> MetricsOf(string task) => _points.Where(p => p.Task == task).Select(p => p.Metric).Distinct().ToList();

    /// <summary>A task's recurrences over all models, ascending.</summary>
    public IReadOnlyList<int> RecurrencesOf(string task) => _points.Where(p => p.Task == task).Select(p => p.Recurrence).Distinct().Order().ToList();

    /// <summary>The recurrences one model ran a task at, ascending.</summary>
    public IReadOnlyList<int> RecurrencesOf(string task, string? model) =>
        _points.Where(p => p.Task == task && p.Model == model).Select(p => p.Recurrence).Distinct().Order().ToList();

    /// <summary>The point for (task, metric, recurrence, model), or null; <paramref name="model"/> null is the unlabelled model of a single-model sweep.</summary>
    public SweepPoint? Find(string task, string metric, int recurrence, string? model = null) =>
        _points.LastOrDefault(p => p.Task == task && p.Metric == metric && p.Recurrence == recurrence && p.Model == model);

    /// <summary>The sweep as the JSON written to <c>results.json</c>.</summary>
    public JsonObject ToJson()
    {
        var info = new JsonObject();
        foreach (var (k, v) in Info) info[k] = v;
        var points = new JsonArray();
        foreach (var p in _points)
        {
            var o = new JsonObject();
            if (p.Model is not null) o["model"] = p.Model;
            o["task"] = p.Task; o["metric"] = p.Metric; o["recurrence"] = p.Recurrence;
            o["value"] = Finite(p.Value); o["stderr"] = p.Stderr is { } s ? Finite(s) : null;
            o["n"] = p.N; o["seconds"] = Math.Round(p.Seconds, 3); o["tokens_generated"] = p.TokensGenerated;
            points.Add(o);
        }
        return new JsonObject { ["format"] = "deepen-sweep/1", ["info"] = info, ["points"] = points };
    }

    /// <summary>Reads a <c>results.json</c> written by <see cref="ToJson"/> (points without a <c>model</c> field belong to no labelled model).</summary>
    public static SweepResult Load(string path)
    {
        if (!File.Exists(path)) throw new DeepenException($"{path}: not found; expected a results.json written by an evaluation sweep.");
        JsonObject root;
        try { root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DeepenException($"{path}: expected a JSON object."); }
        catch (JsonException e) { throw new DeepenException($"{path}: not valid JSON ({e.Message}).", e); }
        if (root["format"]?.GetValue<string>() != "deepen-sweep/1")
            throw new DeepenException($"{path}: format '{root["format"]}' is not 'deepen-sweep/1'.");
        var sweep = new SweepResult();
        foreach (var (k, v) in root["info"]?.AsObject() ?? []) sweep.Info[k] = v?.GetValue<string>() ?? "";
        foreach (var n in root["points"]?.AsArray() ?? [])
        {
            var o = n!.AsObject();
            sweep._points.Add(new SweepPoint(o["task"]!.GetValue<string>(), o["metric"]!.GetValue<string>(), o["recurrence"]!.GetValue<int>(),
                Number(o["value"]), o["stderr"] is null ? null : Number(o["stderr"]), o["n"]!.GetValue<long>(),
                o["seconds"]!.GetValue<double>(), o["tokens_generated"]!.GetValue<long>(), o["model"]?.GetValue<string>()));
        }
        return sweep;
    }

    // JSON has no NaN/Infinity: write them as strings so a file always parses.
    private static JsonNode Finite(double v) => double.IsFinite(v) ? JsonValue.Create(v) : JsonValue.Create(v.ToString(CultureInfo.InvariantCulture));

    private static double Number(JsonNode? n) => n!.GetValueKind() == JsonValueKind.String
        ? double.Parse(n.GetValue<string>(), CultureInfo.InvariantCulture) : n.GetValue<double>();
}
