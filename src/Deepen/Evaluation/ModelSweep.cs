using System.Globalization;
using Deepen.Data;
using Deepen.Evaluation.Reports;
using Deepen.Evaluation.Tasks;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tokenization;
using Deepen.Training;
using Device = TorchSharp.torch.Device;
using ScalarType = TorchSharp.torch.ScalarType;
using Deepen.Models;

namespace Deepen.Evaluation;

/// <summary>A model of a sweep: its label in tables, plots and samples, and its directory (recurrent or plain, with its tokenizer).</summary>
public sealed record SweepModel(string Label, string Dir);

/// <summary>Settings of <see cref="ModelSweep"/> (the <c>eval</c> verb's flags other than the task's own).</summary>
public sealed record ModelSweepOptions
{
    /// <summary>Test-time recurrences of the recurrent models; null = the task's default (<see cref="ModelSweep.DefaultRecurrencesFor"/>). Plain models run once, at 1.</summary>
    public IReadOnlyList<int>? Recurrences { get; init; }

    /// <summary>Prompts per generation batch (the paper's lm-eval batch: 32); rows per batch for <c>loss</c>.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Seeds the recurrent models' initial-state noise (and, for <c>loss</c>, the held-out row order).</summary>
    public long Seed { get; init; }

    /// <summary>
    /// The initial state of a recurrent model's new tokens: seeded noise (the method's default, as the paper evaluated)
    /// or zeros. With noise, results depend on the seed and on the batch size (the noise of a batch is drawn as one
    /// tensor); with zeros they depend on neither. <c>loss</c> always uses seeded noise, as training's validation does.
    /// </summary>
    public StateInit InitialState { get; init; } = StateInit.Random;

    /// <summary>Weights' dtype for generation (the paper evaluated in float32).</summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>The device the models are loaded onto (null: the CPU).</summary>
    public Device? Device { get; init; }

    /// <summary>Where to write <c>results.json</c>, <c>report.md</c>, <c>{task}.png</c> and <c>samples.jsonl</c>; null writes nothing.</summary>
    public string? OutputDir { get; init; }

    /// <summary>Write the PNG plot.</summary>
    public bool Plots { get; init; } = true;

    /// <summary>Receives progress lines (with the time estimate) and per-pass results.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Progress of each pass as (stage, done, total), for a progress bar.</summary>
    public Action<string, long, long>? Progress { get; init; }
}

/// <summary>
/// Evaluates one task on several models (e.g. a recurrent model and its non-recurrent baseline) at a list of test-time
/// recurrences, one pass per (model, recurrence): a recurrent model at each recurrence, a plain model once at 1. The result
/// holds every model's points tagged with its label, so one table, one plot (a line per model and metric; a plain model as a
/// horizontal line) and one <c>samples.jsonl</c> cover them all. Generative and multiple-choice tasks run through
/// <see cref="EvalRunner"/> with <see cref="ModelLanguageModel"/> (KV-cached, left-padded batches); <c>loss</c> through
/// <see cref="LossEvaluation"/>. Models are loaded one at a time and freed after their passes.
/// </summary>
public static class ModelSweep
{
    /// <summary>The paper's test recurrences for accuracy tasks (method.md §8).</summary>
    public static IReadOnlyList<int> DefaultRecurrences { get; } = [1, 2, 4, 8, 16, 32];

    /// <summary>Every task name <see cref="Run"/> accepts.</summary>
    public static IReadOnlyList<string> TaskNames { get; } = [.. EvalTasks.Names, LossEvaluation.TaskName];

    /// <summary>The default recurrences of a task: {1, ..., 64} for <c>loss</c>, {1, ..., 32} otherwise.</summary>
    public static IReadOnlyList<int> DefaultRecurrencesFor(string task) =>
        task == LossEvaluation.TaskName ? LossEvaluation.DefaultRecurrences : DefaultRecurrences;

    /// <summary>
    /// Runs <paramref name="task"/> (<see cref="TaskNames"/>) on every model. For <c>loss</c>, <see cref="EvalTaskOptions.Data"/>
    /// is a token shard or a folder with <c>val.tokens</c>, and <see cref="EvalTaskOptions.Limit"/> N evaluates the first
    /// ⌈N / batch size⌉ batches. Everything is checked (models, recurrences, data) before the first model is loaded.
    /// </summary>
    public static SweepResult Run(IReadOnlyList<SweepModel> models, string task, EvalTaskOptions taskOptions, ModelSweepOptions? options = null)
    {
        options ??= new ModelSweepOptions();
        if (!TaskNames.Contains(task)) throw new DeepenException($"task '{task}' is unknown; expected one of {string.Join(", ", TaskNames)}.");
        if (options.BatchSize < 1) throw DeepenException.BadSetting("batch_size", $"{options.BatchSize}: expected at least 1.");
        var recurrences = options.Recurrences ?? DefaultRecurrencesFor(task);
        CheckRecurrences(recurrences);
        var shapes = CheckModels(models, needTokenizer: task != LossEvaluation.TaskName);
        var info = Info(models, task, taskOptions, options, recurrences);
        return task == LossEvaluation.TaskName
            ? RunLoss(models, shapes, LossShards(taskOptions.Data), recurrences, taskOptions.Limit, options, info)
            : RunTask(models, shapes, EvalTasks.Create(task, taskOptions), recurrences, options, info);
    }

    /// <summary>
    /// Labels for model directories: the given labels (one per directory), else each directory's name; labels must be
    /// unique (two directories with the same name need labels).
    /// </summary>
    public static IReadOnlyList<SweepModel> Label(IReadOnlyList<string> dirs, IReadOnlyList<string>? labels = null)
    {
        if (dirs.Count == 0) throw new DeepenException("no models to evaluate; expected at least one `model` DIR.");
        if (labels is { Count: > 0 } && labels.Count != dirs.Count)
            throw DeepenException.BadSetting("label", $"given {labels.Count} time(s) for {dirs.Count} `model`(s); give one label per model, in the same order, or none.");
        var models = dirs.Select((d, i) => new SweepModel(labels is { Count: > 0 } ? labels[i] : DirName(d), d)).ToList();
        if (models.FirstOrDefault(m => string.IsNullOrWhiteSpace(m.Label)) is { } blank)
            throw DeepenException.BadSetting("model", $"{blank.Dir}: empty label; give a non-empty `label`.");
        if (models.GroupBy(m => m.Label).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw new DeepenException($"two models are labelled '{dup.Key}' ({string.Join(", ", dup.Select(m => m.Dir))}); give each a `label`.");
        return models;
    }

    /// <summary>
    /// Parses recurrences as the <c>--recurrence</c> flag takes them: comma- or space-separated positive integers
    /// (<c>1,2,4,8</c>), distinct. Null when none are given.
    /// </summary>
    public static IReadOnlyList<int>? ParseRecurrences(IEnumerable<string>? tokens)
    {
        var parts = (tokens ?? []).SelectMany(t => t.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (parts.Count == 0) return null;
        var rs = parts.Select(p => int.TryParse(p, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int r) ? r
            : throw DeepenException.BadSetting("recurrence", $"'{p}': not an integer; expected positive integers such as 1,2,4,8,16,32.")).ToList();
        CheckRecurrences(rs);
        return rs;
    }

    /// <summary>Throws unless the recurrences are distinct and at least 1.</summary>
    public static void CheckRecurrences(IReadOnlyList<int> recurrences)
    {
        if (recurrences.Count == 0) throw DeepenException.BadSetting("recurrence", ": no recurrences; expected positive integers such as 1,2,4,8,16,32.");
        var bad = recurrences.Where(r => r < 1).ToList();
        if (bad.Count > 0)
            throw DeepenException.BadSetting("recurrence", $"{string.Join(",", recurrences)}: {bad[0]} is not a valid recurrence; expected integers of at least 1.");
        if (recurrences.GroupBy(r => r).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw DeepenException.BadSetting("recurrence", $"{string.Join(",", recurrences)}: {dup.Key} is listed twice; expected distinct recurrences.");
    }

    /// <summary>The held-out shards of <c>loss</c>: a <c>.tokens</c> file, or a folder's <c>val.tokens</c>.</summary>
    public static IReadOnlyList<string> LossShards(string data)
    {
        if (File.Exists(data))
            return data.EndsWith(".tokens", StringComparison.Ordinal) ? [data]
                : throw DeepenException.BadSetting("data", $"{data}: the loss task reads a token shard (.tokens, from `deepen data prepare`) or a folder with {DataPreparer.ValFile}.");
        if (Directory.Exists(data))
        {
            var val = Path.Combine(data, DataPreparer.ValFile);
            return File.Exists(val) ? [val] : throw DeepenException.BadSetting("data", $"{data}: no {DataPreparer.ValFile} in this folder; expected a folder from `deepen data prepare` or a .tokens file.");
        }
        throw DeepenException.BadSetting("data", $"{data}: not found; the loss task reads a token shard (.tokens) or a folder with {DataPreparer.ValFile}.");
    }

    /// <summary>What the sweep needs to know of a model before loading it: whether it recurs, its layer counts and vocabulary.</summary>
    private sealed record Shape(bool Recurrent, int Fixed, int Core, int Vocab)
    {
        /// <summary>Layers run per token at recurrence r: the time estimate's unit.</summary>
        public double Cost(int r) => Fixed + Core * (Recurrent ? r : 0);
    }

    private static IReadOnlyList<Shape> CheckModels(IReadOnlyList<SweepModel> models, bool needTokenizer)
    {
        if (models.Count == 0) throw new DeepenException("no models to evaluate; expected at least one `model` DIR.");
        if (models.GroupBy(m => m.Label).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw new DeepenException($"two models are labelled '{dup.Key}'; labels must be unique.");
        return models.Select(m =>
        {
            if (!Directory.Exists(m.Dir)) throw DeepenException.BadSetting("model", $"{m.Dir}: directory not found.");
            var json = HfConfig.ReadJson(m.Dir);
            var path = Path.Combine(m.Dir, HfConfig.FileName);
            Shape shape;
            if (HfConfig.ModelTypeOf(json) == RecurrentConfig.ModelType)
            {
                var c = RecurrentConfig.Parse(json, path, BlockStyle.PreNorm);
                shape = new Shape(true, c.PreludeLayers + c.CodaLayers, c.CoreLayers, c.Block.VocabSize);
            }
            else
            {
                var c = HfConfig.Load(m.Dir);
                shape = new Shape(false, c.NumLayers, 0, c.VocabSize);
            }
            if (needTokenizer && !TextTokenizer.ExistsIn(m.Dir))
                throw DeepenException.BadSetting("model", $"{m.Dir}: no {TextTokenizer.TokenizerJsonFileName} or {TextTokenizer.SentencePieceFileName}; text tasks need the model's tokenizer in its directory.");
            return shape;
        }).ToList();
    }

    private static SweepResult RunTask(IReadOnlyList<SweepModel> models, IReadOnlyList<Shape> shapes, IEvalTask task, IReadOnlyList<int> recurrences,
        ModelSweepOptions options, Dictionary<string, string> info)
    {
        var evalModels = models.Select((m, i) =>
        {
            DeepenModel? net = null;
            TextTokenizer? tokenizer = null;
            return new EvalModel(m.Label, shapes[i].Recurrent ? recurrences : [1], r =>
            {
                if (net is null)
                {
                    options.Log?.Invoke($"loading {m.Label} from {m.Dir} onto {OnDevice(options)}");
                    net = DeepenModel.Load(m.Dir, options.DType, options.Device);
                    tokenizer = TextTokenizer.FromDirectory(m.Dir);
                }
                return new ModelLanguageModel(net, tokenizer!, new ModelLanguageModelOptions
                {
                    Depth = DepthOptions.Fixed(r, options.InitialState), BatchSize = options.BatchSize, Seed = options.Seed,
                });
            })
            {
                Cost = shapes[i].Cost,
                Release = () => { net?.Dispose(); tokenizer?.Dispose(); net = null; tokenizer = null; },
            };
        }).ToList();
        return EvalRunner.Run([task], evalModels, new EvalRunOptions
        {
            BatchSize = options.BatchSize, OutputDir = options.OutputDir, Plots = options.Plots, Log = options.Log, Progress = options.Progress, Info = info,
        });
    }

    /// <summary>The device's name for the log (no device given: the CPU).</summary>
    private static string OnDevice(ModelSweepOptions options) => options.Device is { } d ? Torch.ComputeDevice.Name(d) : "cpu";

    private static SweepResult RunLoss(IReadOnlyList<SweepModel> models, IReadOnlyList<Shape> shapes, IReadOnlyList<string> shards, IReadOnlyList<int> recurrences,
        int? limit, ModelSweepOptions options, Dictionary<string, string> info)
    {
        if (options.InitialState != StateInit.Random)
            throw DeepenException.BadSetting("state", "zeros: the loss task uses seeded random initial states, as training's validation does; leave `state` at random.");
        if (limit is < 1) throw DeepenException.BadSetting("limit", $"{limit}: expected a positive number of rows.");
        int batches = limit is { } n ? (n + options.BatchSize - 1) / options.BatchSize : 0;
        var fingerprints = models.Select((m, i) => CheckShards(m, shapes[i], shards)).ToList();

        var sweep = new SweepResult();
        foreach (var (k, v) in info) sweep.Info[k] = v;
        var passes = models.Select((m, i) => shapes[i].Recurrent ? recurrences : [1]).ToList();
        var progress = new SweepProgress(passes.SelectMany((rs, i) => rs.Select(r => shapes[i].Cost(r))).ToList());
        int pass = 0;
        for (int i = 0; i < models.Count; i++)
        {
            options.Log?.Invoke($"loading {models[i].Label} from {models[i].Dir} onto {OnDevice(options)}");
            using var model = DeepenModel.Load(models[i].Dir, device: options.Device);
            foreach (var r in passes[i])
            {
                progress.Begin(pass++);
                options.Log?.Invoke($"{models[i].Label} loss r={r}: running ({progress.Describe(0, 1)})");
                var points = LossEvaluation.Run(model, shards, [r], options.BatchSize, batches, options.Seed, fingerprints[i]);
                sweep.Add(points.Select(p => p with { Model = models[i].Label }));
                options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"{models[i].Label} loss r={r}: {points[0].Value:F4} over {points[0].N:N0} tokens ({points[0].Seconds:F1}s)"));
                if (options.OutputDir is not null) SweepReport.Write(options.OutputDir, sweep, options.Plots);
            }
        }
        return sweep;
    }

    /// <summary>The tokenizer fingerprint the shards must carry (null when the model has no tokenizer); throws when a shard's ids do not fit the model.</summary>
    private static string? CheckShards(SweepModel model, Shape shape, IReadOnlyList<string> shards)
    {
        string? fingerprint = null;
        if (TextTokenizer.ExistsIn(model.Dir))
        {
            using var tok = TextTokenizer.FromDirectory(model.Dir);
            fingerprint = tok.Fingerprint;
        }
        foreach (var path in shards)
        {
            using var shard = TokenShard.Open(path, fingerprint);
            if (shard.Header.Metadata.VocabSize > shape.Vocab)
                throw new DeepenException($"{path}: token ids up to {shard.Header.Metadata.VocabSize - 1} do not fit `model` {model.Dir}'s vocabulary of {shape.Vocab}.");
        }
        return fingerprint;
    }

    private static Dictionary<string, string> Info(IReadOnlyList<SweepModel> models, string task, EvalTaskOptions t, ModelSweepOptions o, IReadOnlyList<int> recurrences)
    {
        var info = new Dictionary<string, string>();
        foreach (var m in models) info[$"model {m.Label}"] = m.Dir;
        info["task"] = task;
        info["data"] = t.Data;
        info["recurrences"] = string.Join(",", recurrences);
        info["initial state"] = task == LossEvaluation.TaskName || o.InitialState == StateInit.Random ? $"random, seed {o.Seed}" : "zeros";
        info["batch size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture);
        if (t.Limit is { } limit) info["limit"] = limit.ToString(CultureInfo.InvariantCulture) + (t.Seed is { } s && task != LossEvaluation.TaskName ? $" (shuffled, seed {s})" : "");
        if (task != LossEvaluation.TaskName)
        {
            info["dtype"] = o.DType.ToString().ToLowerInvariant();
            if (task != "choice") info["max new tokens"] = t.MaxNewTokens.ToString(CultureInfo.InvariantCulture);
            if (t.NumFewshot is { } k) info["num fewshot"] = k.ToString(CultureInfo.InvariantCulture);
            if (t.FewshotFile is { } f) info["fewshot file"] = f;
        }
        return info;
    }

    private static string DirName(string dir) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
}
