using Deepen.Checkpoints;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Deepen.Conversion;
using Deepen.Data;
using Deepen.Evaluation.Reports;
using Deepen.Evaluation.Tasks;
using Deepen.Evaluation;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tokenization;
using Deepen.Torch;
using Deepen.Training;
using Deepen.Models;

namespace Deepen.Recipes;

/// <summary>
/// One model's evaluation on the held-out chains: for every test recurrence, which problems it got right (in problem
/// order), so that conditions can be compared problem by problem.
/// </summary>
public sealed record DemoEval(string Label, IReadOnlyList<int> Ops, IReadOnlyDictionary<int, bool[]> Correct)
{
    public int Problems => Ops.Count;

    /// <summary>Accuracy and its binomial standard error at recurrence <paramref name="r"/>.</summary>
    public (double Acc, double Stderr) At(int r)
    {
        var c = Correct[r];
        double acc = c.Length == 0 ? 0 : c.Count(x => x) / (double)c.Length;
        return (acc, c.Length < 2 ? 0 : Math.Sqrt(acc * (1 - acc) / (c.Length - 1)));
    }

    /// <summary>Accuracy at recurrence <paramref name="r"/> among problems of <paramref name="ops"/> operations (NaN when there are none).</summary>
    public double At(int r, int ops) => At(r, [ops]);

    /// <summary>Accuracy at recurrence <paramref name="r"/> among problems whose length is one of <paramref name="ops"/> (NaN when there are none).</summary>
    public double At(int r, IReadOnlyCollection<int> ops)
    {
        var idx = Enumerable.Range(0, Ops.Count).Where(i => ops.Contains(Ops[i])).ToList();
        return idx.Count == 0 ? double.NaN : idx.Count(i => Correct[r][i]) / (double)idx.Count;
    }
}

/// <summary>A training run's curves: (cumulative FLOPs, training loss) per step and (FLOPs, held-out loss) per validation.</summary>
public sealed record DemoRun(string Label, string Dir, IReadOnlyList<(double Flops, double Loss)> Train, IReadOnlyList<(double Flops, double Loss)> Val, double TotalFlops, double Seconds);

/// <summary>
/// The whole method on the shipped base model, offline: (a) convert to a (P,R,C) recurrent model with --verify;
/// (b) train it on the task's problems (<see cref="DemoTask"/>: chains of operations modulo 10, or variable look-ups) with
/// the 1-sqrt curriculum; (c) train the plain base on the same data to the same training FLOPs; (d) evaluate both on
/// held-out problems, longer ones included, the recurrent model at several
/// test recurrences; (e) write report.md with tables, plots, a heat map and a verdict on each of the paper's claims from
/// paired tests. The full demo also trains without the curriculum (claim 3).
/// </summary>
public static class DemoRecipe
{
    public static string Run(DemoOptions o)
    {
        if (o.Steps < 1) throw new DeepenException($"demo: steps {o.Steps}; expected at least 1 optimizer step.");
        var device = ComputeDevice.Resolve(o.Device);                  // refused before anything is written
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(o.Out);
        var log = o.Log;
        var baseCfg = HfConfig.Load(o.BaseModel);
        var seeds = new DemoSeeds(o.Seed);
        log(ComputeDevice.Describe(device, chosen: !string.IsNullOrWhiteSpace(o.Device)));

        // (a) convert
        int quarter = Math.Max(1, baseCfg.NumLayers / 4);
        var (p, r, c) = o.Shape ?? (quarter, baseCfg.NumLayers - 2 * quarter, quarter);
        var plan = LayerPlan.FromShape(p, r, c, baseCfg.NumLayers);
        var recInit = Path.Combine(o.Out, "recurrent-init");
        log($"(a) convert {o.BaseModel} → ({p},{r},{c}){DemoReport.Dropped(plan, baseCfg.NumLayers)} with --verify, adapter {o.AdapterInit.ToString().ToLowerInvariant()} (seed {o.Seed})");
        var conv = Retrofitter.Convert(new ConvertOptions(o.BaseModel, recInit, plan)
        {
            Verify = true, Force = true, MeanRecurrence = o.TrainRecurrence, MeanBackpropDepth = o.BackpropDepth,
            AdapterInit = o.AdapterInit, Seed = seeds.Adapter, Device = device,
            Progress = o.Progress is null ? null : (done, total) => o.Progress("convert", done, total),
        });
        log($"    max |Δlogit| = {conv.MaxLogitDiff:E2}");

        // data: the task's problems answered directly (only depth of computation can help), test chains longer than the trained ones
        var dataDir = Path.Combine(o.Out, "data");
        Directory.CreateDirectory(dataDir);
        string trainJsonl = Path.Combine(dataDir, "train.jsonl"), testJsonl = Path.Combine(dataDir, "test.jsonl");
        ModChain.WriteJsonl(trainJsonl, o.Task.Generate(o.TrainProblems, o.TrainOps, seeds.TrainData, ChainSplit.Train));
        ModChain.WriteJsonl(testJsonl, o.Task.Generate(o.TestProblems, o.TestOps, seeds.TestData, o.EvalSplit));
        var shards = Path.Combine(dataDir, "shards");
        using (var tok = TextTokenizer.FromDirectory(o.BaseModel))
            DataPreparer.Prepare(new DataPrepareOptions { Inputs = [trainJsonl], OutDir = shards, SeqLen = o.SeqLen, HoldoutFraction = 0.03, Seed = seeds.Holdout }, tok);

        TrainConfig Train(string model, string outDir, int steps, CurriculumShape curriculum) => new()
        {
            Model = model, Out = outDir, TrainData = [shards], MicroBatchSize = o.MicroBatch, MaxSteps = steps,
            Optimizer = OptimizerKind.Muon, Lr = o.Lr, MuonLr = o.MuonLr, WeightDecay = 0, MuonWeightDecay = 0, Warmup = 0.05, Cooldown = 0.3,
            MeanRecurrence = o.TrainRecurrence, BackpropDepth = o.BackpropDepth, Curriculum = curriculum, CurriculumWarmup = 0.75,
            Precision = PrecisionKind.Bf16Mixed, Threads = o.Threads, Device = ComputeDevice.Name(device), EvalEvery = Math.Max(1, steps / 5), ValRecurrences = [o.TrainRecurrence],
            ValBatches = 8, SaveEvery = 0, Seed = seeds.Training, LossOn = o.LossOn, AnswerMarker = o.Task.AnswerMarker,
        };
        DemoRun Fit(string label, TrainConfig config)
        {
            var sw = Stopwatch.StartNew();
            if (Directory.Exists(config.Out)) Directory.Delete(config.Out, recursive: true);
            var result = Trainer.Run(config, new TrainRunOptions
            {
                Log = line => { if (!line.StartsWith("step ", StringComparison.Ordinal)) log("    " + line); },
                Progress = o.Progress is null ? null : (step, total) => o.Progress($"train {label}", step, total),
                Cancel = o.Cancel,
            });
            if (result.Stopped) throw new DeepenException($"demo: training '{label}' stopped: {result.Reason}");
            return Curves(label, config.Out, sw.Elapsed.TotalSeconds);
        }

        // (b) recurrent with the 1-sqrt curriculum
        log($"(b) train the recurrent model: {o.Steps} steps, 1-sqrt curriculum to r̄ = {o.TrainRecurrence}, backprop depth {o.BackpropDepth}, loss on {ConfigWords.Of(o.LossOn)} tokens");
        var rec = Fit("recurrent (1-sqrt curriculum)", Train(recInit, Path.Combine(o.Out, "runs", "recurrent"), o.Steps, CurriculumShape.OneSqrt));
        DemoRun? noCurr = null;
        if (o.RunNoCurriculum)
        {
            log($"    and without the curriculum (r̄ = {o.TrainRecurrence} from step 0), same steps");
            noCurr = Fit("recurrent (no curriculum)", Train(recInit, Path.Combine(o.Out, "runs", "recurrent-no-curriculum"), o.Steps, CurriculumShape.None));
        }

        // (c) the static base to the same training FLOPs
        double perStep;
        using (var probe = DeepenModel.Load(o.BaseModel))
            perStep = probe.Flops.TrainingFlopsPerToken(1) * (double)o.MicroBatch * o.SeqLen;
        int staticSteps = Math.Max(1, (int)Math.Round(rec.TotalFlops / perStep));
        log($"(c) train the static base to equal FLOPs: {rec.TotalFlops:E3} FLOPs → {staticSteps} steps");
        var stat = Fit("static baseline", Train(o.BaseModel, Path.Combine(o.Out, "runs", "static"), staticSteps, CurriculumShape.None) with { ValRecurrences = [1] });

        // (d) evaluate on the same held-out problems
        var docs = ChainTask.Load(testJsonl);
        log($"(d) evaluate on {docs.Count} held-out problems of {o.TestOps.Min()}–{o.TestOps.Max()} {o.Task.Unit} (trained on {o.TrainOps.Min()}–{o.TrainOps.Max()})");
        var recEval = Evaluate("recurrent", Path.Combine(rec.Dir, "final"), docs, o.TestRecurrences, o, device, seeds.Eval);
        var statEval = Evaluate("static", Path.Combine(stat.Dir, "final"), docs, [1], o, device, seeds.Eval);

        // (e) report
        var report = DemoReport.Write(o, plan, baseCfg.NumLayers, conv.MaxLogitDiff ?? double.NaN, rec, noCurr, stat, recEval, statEval, clock.Elapsed, Trainer.PeakRssMb());
        log($"(e) report: {report} ({clock.Elapsed.TotalMinutes:F1} min)");
        return report;
    }

    private static DemoRun Curves(string label, string dir, double seconds)
    {
        var rows = MetricsLog.Read(Path.Combine(dir, MetricsLog.FileName));
        var flopsAt = new Dictionary<long, double> { [0] = 0 };
        var train = new List<(double, double)>();
        foreach (var row in rows.Where(x => x["kind"] is null))
        {
            long step = row["step"]!.GetValue<long>();
            double f = row["train_flops"]!.GetValue<double>();
            flopsAt[step] = f;
            train.Add((f, row["loss"]!.GetValue<double>()));
        }
        var val = rows.Where(x => x["kind"] is not null)
            .Select(x => (flopsAt[x["step"]!.GetValue<long>()], ValLoss(x))).ToList();
        return new DemoRun(label, dir, train, val, train.Count > 0 ? train[^1].Item1 : 0, seconds);
    }

    private static double ValLoss(JsonObject row) =>
        row.Where(kv => kv.Key.StartsWith("val_loss", StringComparison.Ordinal)).Select(kv => kv.Value!.GetValue<double>()).First();

    private static DemoEval Evaluate(string label, string modelDir, IReadOnlyList<ChainDoc> docs, IReadOnlyList<int> recurrences, DemoOptions o, TorchSharp.torch.Device device, long seed)
    {
        var task = new ChainTask("chain", docs);
        using var model = DeepenModel.Load(modelDir, device: device);
        using var tok = TextTokenizer.FromDirectory(modelDir);
        var correct = new SortedDictionary<int, bool[]>();
        var samples = new List<string>();
        var rs = model.Recurrences(recurrences);
        foreach (var rec in rs)
        {
            var lm = new ModelLanguageModel(model, tok, new ModelLanguageModelOptions { Depth = DepthOptions.Fixed(rec), BatchSize = 64, Seed = seed });
            var run = EvalRunner.RunTask(task, lm, rec, batchSize: 64);
            var right = new bool[docs.Count];
            foreach (var s in run.Samples) right[s.Doc] = s.Scores[ChainTask.Accuracy] > 0;
            correct[rec] = right;
            o.Progress?.Invoke($"evaluate {label}", correct.Count, rs.Count);
            double acc = right.Count(x => x) / (double)Math.Max(1, right.Length);
            o.Log($"    {label}{(rs.Count > 1 ? $" r={rec}" : "")}: accuracy {acc:P1} ({run.Seconds:F0} s)");
            samples.AddRange(run.Samples.Select(s => new JsonObject
            {
                ["model"] = label, ["recurrence"] = rec, ["doc"] = s.Doc, ["ops"] = docs[s.Doc].Ops, ["prompt"] = s.Prompt, ["gold"] = s.Gold,
                ["correct"] = s.Scores[ChainTask.Accuracy] > 0, ["logprob"] = s.Extra?["logprob"]?.GetValue<double>(),
            }.ToJsonString()));
        }
        AtomicFile.WriteAllText(Path.Combine(o.Out, $"samples-{label}.jsonl"), string.Join("\n", samples) + "\n");
        return new DemoEval(label, docs.Select(d => d.Ops).ToList(), correct);
    }
}

/// <summary>The demo's seeds, all derived from the one <see cref="DemoOptions.Seed"/> (seed 0 keeps the historical values).</summary>
public sealed record DemoSeeds(long Seed)
{
    public long Adapter => Seed;
    public ulong TrainData => 101 + 1_000UL * (ulong)Seed;
    public ulong TestData => 202 + 1_000UL * (ulong)Seed;
    public long Holdout => 7 + 1_000 * Seed;
    public long Training => 74 + 1_000 * Seed;
    public long Eval => 5 + 1_000 * Seed;
}
