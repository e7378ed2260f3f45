using System.Diagnostics;
using Deepen.Evaluation.Reports;
using Deepen.Inference;

namespace Deepen.Evaluation;

/// <summary>Settings of a sweep run.</summary>
public sealed record EvalRunOptions
{
    /// <summary>Requests per model call (the paper's lm-eval batch: 32).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Where to write <c>results.json</c>, <c>report.md</c>, plots and <c>samples.jsonl</c>; null writes nothing.</summary>
    public string? OutputDir { get; init; }

    /// <summary>Write PNG plots next to the report.</summary>
    public bool Plots { get; init; } = true;

    /// <summary>Receives one progress line per model batch and per finished task.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Progress of each pass as (stage, requests done, requests), for a progress bar.</summary>
    public Action<string, long, long>? Progress { get; init; }

    /// <summary>Run information for the report (model, options, seed, ...).</summary>
    public IReadOnlyDictionary<string, string>? Info { get; init; }
}

/// <summary>One task evaluated at one recurrence (by one model of a multi-model sweep): its samples and aggregated points.</summary>
public sealed record TaskRun(string Task, int Recurrence, IReadOnlyList<EvalSample> Samples, IReadOnlyList<SweepPoint> Points, double Seconds, long TokensGenerated,
    string? Model = null);

/// <summary>
/// One model of a sweep: its label (null in a single-model sweep), the recurrences it runs at, and the model at each
/// recurrence (called once per recurrence, in order).
/// </summary>
public sealed record EvalModel(string? Label, IReadOnlyList<int> Recurrences, Func<int, ILanguageModel> At)
{
    /// <summary>The relative cost of one request at recurrence r (e.g. layers run per token), for the time estimate; null = 1.</summary>
    public Func<int, double>? Cost { get; init; }

    /// <summary>Called once after the model's last pass, also when a pass fails (e.g. to free its weights).</summary>
    public Action? Release { get; init; }
}

/// <summary>
/// Runs tasks × recurrences against one or more models and produces a <see cref="SweepResult"/> (and its files).
/// The model at each recurrence comes from a factory, so the same runner serves a recurrent model
/// (one model, recurrence set per call) and a set of plain baselines. Models are not disposed here
/// (see <see cref="EvalModel.Release"/>).
/// </summary>
public static class EvalRunner
{
    /// <summary>
    /// For each recurrence (in the order given) and each task: build the requests, ask the model in
    /// batches, cut generations at their stop strings, score, aggregate. With an output directory,
    /// <c>results.json</c>, <c>report.md</c> and plots are rewritten after every task so a long sweep
    /// shows its progress, and <c>samples.jsonl</c> appears when the sweep completes.
    /// </summary>
    public static SweepResult Run(IReadOnlyList<IEvalTask> tasks, IReadOnlyList<int> recurrences, Func<int, ILanguageModel> modelAt, EvalRunOptions? options = null) =>
        Run(tasks, [new EvalModel(null, recurrences, modelAt)], options);

    /// <summary>
    /// The sweep over several models, one after the other (e.g. a recurrent model and its plain baseline): each model's
    /// points and samples carry its label, so one report, one plot per task and one <c>samples.jsonl</c> hold them all.
    /// Progress lines (per batch and per finished task) give the sweep's share done and a time estimate.
    /// </summary>
    public static SweepResult Run(IReadOnlyList<IEvalTask> tasks, IReadOnlyList<EvalModel> models, EvalRunOptions? options = null)
    {
        options ??= new EvalRunOptions();
        if (tasks.Count == 0) throw new DeepenException("no tasks to evaluate; expected at least one `task`.");
        if (models.Count == 0) throw new DeepenException("no models to evaluate; expected at least one `model`.");
        if (models.Count > 1 && models.Any(m => m.Label is null)) throw new ArgumentException("every model of a multi-model sweep needs a label.", nameof(models));
        if (models.Select(m => m.Label).GroupBy(l => l).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new DeepenException($"model label '{twice.Key}' is used twice; labels must be unique in a sweep.");
        foreach (var m in models)
        {
            var recurrences = m.Recurrences;
            if (recurrences.Count == 0) throw new DeepenException("no recurrences to evaluate; expected at least one `recurrence`.");
            if (recurrences.Any(r => r < 1) || recurrences.Distinct().Count() != recurrences.Count)
                throw DeepenException.BadSetting("recurrence", $"{string.Join(",", recurrences)}: expected distinct recurrences of at least 1.");
        }
        if (tasks.Select(t => t.Name).GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw new DeepenException($"task '{dup.Key}' is listed twice; task names must be unique in a sweep.");

        var sweep = new SweepResult();
        foreach (var (k, v) in options.Info ?? new Dictionary<string, string>()) sweep.Info[k] = v;
        var requests = tasks.ToDictionary(t => t.Name, t => t.BuildRequests());
        var progress = new SweepProgress(models.SelectMany(m => m.Recurrences.SelectMany(r =>
            tasks.Select(t => requests[t.Name].Count * (m.Cost?.Invoke(r) ?? 1.0)))).ToList());
        using var samples = options.OutputDir is null ? null : new SampleLog(Path.Combine(options.OutputDir, SweepReport.SamplesFile));

        int pass = 0;
        foreach (var m in models)
        {
            var prefix = m.Label is null ? "" : m.Label + " ";
            try
            {
                foreach (var r in m.Recurrences)
                {
                    var model = m.At(r);
                    if (models.Count == 1 && m.Label is null) sweep.Info.TryAdd("model", model.Name);
                    foreach (var task in tasks)
                    {
                        progress.Begin(pass++);
                        var run = RunTask(task, requests[task.Name], model, r, options.BatchSize,
                            (done, total) =>
                            {
                                options.Log?.Invoke($"{prefix}{task.Name} r={r}: {done}/{total} requests ({progress.Describe(done, total)})");
                                options.Progress?.Invoke($"eval {prefix}{task.Name} r={r}", done, total);
                            });
                        run = m.Label is null ? run : run with { Model = m.Label, Points = run.Points.Select(p => p with { Model = m.Label }).ToList() };
                        sweep.Add(run.Points);
                        samples?.Append(run);
                        options.Log?.Invoke($"{prefix}{task.Name} r={r}: " + string.Join(", ", run.Points.Select(p => $"{p.Metric} {p.Value:F4}")) +
                            $" (n={run.Samples.Count}, {run.Seconds:F1}s, {run.TokensGenerated} tokens)");
                        if (options.OutputDir is not null) SweepReport.Write(options.OutputDir, sweep, options.Plots);
                    }
                }
            }
            finally
            {
                m.Release?.Invoke();
            }
        }
        samples?.Complete();
        return sweep;
    }

    /// <summary>Runs one task at one recurrence.</summary>
    public static TaskRun RunTask(IEvalTask task, ILanguageModel model, int recurrence, int batchSize = 32, Action<string>? log = null) =>
        RunTask(task, task.BuildRequests(), model, recurrence, batchSize, (done, total) => log?.Invoke($"{task.Name} r={recurrence}: {done}/{total} requests"));

    private static TaskRun RunTask(IEvalTask task, IReadOnlyList<EvalRequest> requests, ILanguageModel model, int recurrence, int batchSize, Action<int, int> progress)
    {
        if (batchSize < 1) throw DeepenException.BadSetting("batch_size", $"{batchSize}: expected at least 1.");
        var clock = Stopwatch.StartNew();
        var responses = Answer(requests, model, batchSize, progress);
        long tokens = responses.Sum(x => (long)(x.Generation?.TokenCount ?? 0));
        var samples = task.Score(responses);
        clock.Stop();
        var points = task.Metrics.Select(m =>
        {
            var scores = samples.Select(s => s.Scores.TryGetValue(m, out var v) ? v
                : throw new InvalidOperationException($"{task.Name}: sample {s.Doc} has no score for metric {m}.")).ToList();
            return new SweepPoint(task.Name, m, recurrence, MetricStats.Mean(scores), MetricStats.MeanStderr(scores), scores.Count, clock.Elapsed.TotalSeconds, tokens);
        }).ToList();
        return new TaskRun(task.Name, recurrence, samples, points, clock.Elapsed.TotalSeconds, tokens);
    }

    /// <summary>
    /// The model's response to every request, in request order. Consecutive generation requests with the
    /// same settings share a batch; generations are cut at their stop strings (as lm-eval does after decoding).
    /// </summary>
    public static IReadOnlyList<EvalResponse> Answer(IReadOnlyList<EvalRequest> requests, ILanguageModel model, int batchSize, Action<int, int>? progress = null)
    {
        var responses = new EvalResponse[requests.Count];
        int i = 0;
        while (i < requests.Count)
        {
            int start = i;
            if (requests[i] is GenerateUntilRequest g)
            {
                while (i < requests.Count && i - start < batchSize && requests[i] is GenerateUntilRequest h && h.Options.SameAs(g.Options)) i++;
                var batch = requests.Skip(start).Take(i - start).Cast<GenerateUntilRequest>().ToList();
                var outs = model.Generate(batch.Select(b => b.Prompt).ToList(), g.Options);
                Check(outs.Count, batch.Count, model, "Generate");
                for (int j = 0; j < batch.Count; j++)
                    responses[start + j] = new EvalResponse(batch[j], Cut(outs[j], g.Options.StopStrings));
            }
            else if (requests[i] is LogLikelihoodRequest)
            {
                while (i < requests.Count && i - start < batchSize && requests[i] is LogLikelihoodRequest) i++;
                var batch = requests.Skip(start).Take(i - start).Cast<LogLikelihoodRequest>().ToList();
                var outs = model.LogLikelihood(batch.Select(b => (b.Context, b.Continuation)).ToList());
                Check(outs.Count, batch.Count, model, "LogLikelihood");
                for (int j = 0; j < batch.Count; j++) responses[start + j] = new EvalResponse(batch[j], LogLikelihood: outs[j]);
            }
            else throw new ArgumentException($"unknown request type {requests[i].GetType().Name}", nameof(requests));
            Torch.NativeGarbage.Collect();                                  // the batch's dead TorchSharp scalars
            progress?.Invoke(i, requests.Count);
        }
        return responses;
    }

    private static GenerationResult Cut(GenerationResult g, IReadOnlyList<string> stops)
    {
        var text = StopStrings.Truncate(g.Text, stops);
        return text.Length == g.Text.Length ? g : g with { Text = text, Finish = FinishReason.Stop };
    }

    private static void Check(int got, int want, ILanguageModel model, string call)
    {
        if (got != want) throw new InvalidOperationException($"model {model.Name}: {call} returned {got} results for {want} requests.");
    }
}
