using System.Diagnostics;
using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Conversion;
using Deepen.Data;
using Deepen.Evaluation.Tasks;
using Deepen.Inference;
using Deepen.Training;

namespace Deepen.Evaluation.Demo;

/// <summary>One trained model's evaluation: accuracy per test recurrence, overall and per number of operations.</summary>
public sealed record DemoEval(string Label, IReadOnlyDictionary<int, (double Acc, double Stderr)> ByRecurrence,
    IReadOnlyDictionary<int, IReadOnlyDictionary<int, double>> ByOps, int Problems);

/// <summary>A training run's curves: (cumulative FLOPs, training loss) per step and (FLOPs, held-out loss) per validation.</summary>
public sealed record DemoRun(string Label, string Dir, IReadOnlyList<(double Flops, double Loss)> Train, IReadOnlyList<(double Flops, double Loss)> Val, double TotalFlops, double Seconds);

/// <summary>
/// The whole method on the shipped base model, offline: (a) convert to a (P,R,C) recurrent model with
/// --verify; (b) train it on synthetic math with the 1-sqrt curriculum; (c) train the plain base on the
/// same data to the same training FLOPs; (d) evaluate both on held-out problems, by number of operations,
/// the recurrent model at several test recurrences; (e) write report.md with tables, plots and an honest
/// verdict on each of the paper's claims. The full demo also trains without the curriculum (claim 3).
/// </summary>
public static class DemoRecipe
{
    public static string Run(DemoOptions o)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(o.Out);
        var log = o.Log;
        var baseCfg = HfConfig.Load(o.BaseModel);

        // (a) convert
        int p = Math.Max(1, baseCfg.NumLayers / 4), c = p, r = baseCfg.NumLayers - p - c;
        var plan = LayerPlan.FromShape(p, r, c, baseCfg.NumLayers);
        var recInit = Path.Combine(o.Out, "recurrent-init");
        log($"(a) convert {o.BaseModel} → ({p},{r},{c}) with --verify");
        var conv = Retrofitter.Convert(new ConvertOptions(o.BaseModel, recInit, plan)
        {
            Verify = true, Force = true, MeanRecurrence = o.TrainRecurrence, MeanBackpropDepth = o.BackpropDepth,
        });
        log($"    max |Δlogit| = {conv.MaxLogitDiff:E2}");

        // data: synthetic problems, direct answers (only depth of computation can help)
        var dataDir = Path.Combine(o.Out, "data");
        Directory.CreateDirectory(dataDir);
        string trainJsonl = Path.Combine(dataDir, "train.jsonl"), testJsonl = Path.Combine(dataDir, "test.jsonl");
        SyntheticMath.WriteJsonl(trainJsonl, SyntheticMath.Generate(new SyntheticMathOptions { Count = o.TrainProblems, Ops = o.Ops, Seed = 101, Format = MathAnswerFormat.Direct }));
        SyntheticMath.WriteJsonl(testJsonl, SyntheticMath.Generate(new SyntheticMathOptions { Count = o.TestProblems, Ops = o.Ops, Seed = 202, Split = MathSplit.Test, Format = MathAnswerFormat.Direct }));
        var shards = Path.Combine(dataDir, "shards");
        using (var tok = TextTokenizer.FromDirectory(o.BaseModel))
            DataPreparer.Prepare(new DataPrepareOptions { Inputs = [trainJsonl], OutDir = shards, SeqLen = o.SeqLen, HoldoutFraction = 0.03, Seed = 7 }, tok);

        TrainConfig Train(string model, string outDir, int steps, string curriculum) => new()
        {
            Model = model, Out = outDir, TrainData = [shards], MicroBatchSize = o.MicroBatch, MaxSteps = steps,
            Optimizer = "muon", Lr = 1e-3, MuonLr = 5e-3, WeightDecay = 0, MuonWeightDecay = 0, Warmup = 0.05, Cooldown = 0.3,
            MeanRecurrence = o.TrainRecurrence, BackpropDepth = o.BackpropDepth, Curriculum = curriculum, CurriculumWarmup = 0.75,
            Precision = "bf16-mixed", Threads = o.Threads, EvalEvery = Math.Max(1, steps / 5), ValRecurrences = [o.TrainRecurrence],
            ValBatches = 8, SaveEvery = 0, Seed = 74,
        };
        DemoRun Fit(string label, TrainConfig config)
        {
            var sw = Stopwatch.StartNew();
            if (Directory.Exists(config.Out)) Directory.Delete(config.Out, recursive: true);
            var result = Trainer.Run(config, new TrainRunOptions { Log = line => { if (!line.StartsWith("step ") || line.Contains($"step {config.MaxSteps}/") || line.Contains("0/")) log("    " + line); }, Cancel = o.Cancel });
            if (result.Stopped) throw new DeepenException($"demo: training '{label}' stopped: {result.Reason}");
            return Curves(label, config.Out, sw.Elapsed.TotalSeconds);
        }

        // (b) recurrent with the 1-sqrt curriculum
        log($"(b) train the recurrent model: {o.Steps} steps, 1-sqrt curriculum to r̄ = {o.TrainRecurrence}, backprop depth {o.BackpropDepth}");
        var rec = Fit("recurrent (1-sqrt curriculum)", Train(recInit, Path.Combine(o.Out, "runs", "recurrent"), o.Steps, "1-sqrt"));
        DemoRun? noCurr = null;
        if (o.RunNoCurriculum)
        {
            log($"    and without the curriculum (r̄ = {o.TrainRecurrence} from step 0), same steps");
            noCurr = Fit("recurrent (no curriculum)", Train(recInit, Path.Combine(o.Out, "runs", "recurrent-no-curriculum"), o.Steps, "none"));
        }

        // (c) the static base to the same training FLOPs
        using (var probe = TrainableModel.Load(o.BaseModel))
        {
            double perStep = probe.Flops.TrainingFlopsPerToken(1) * (double)o.MicroBatch * o.SeqLen;
            int staticSteps = Math.Max(1, (int)Math.Round(rec.TotalFlops / perStep));
            log($"(c) train the static base to equal FLOPs: {rec.TotalFlops:E3} FLOPs → {staticSteps} steps");
            var stat = Fit("static baseline", Train(o.BaseModel, Path.Combine(o.Out, "runs", "static"), staticSteps, "none") with { ValRecurrences = [1] });

            // (d) evaluate
            log($"(d) evaluate on {o.TestProblems} held-out problems ({string.Join(",", o.Ops)} operations)");
            var recEval = Evaluate("recurrent", Path.Combine(rec.Dir, "final"), testJsonl, o.TestRecurrences, o, log);
            var statEval = Evaluate("static", Path.Combine(stat.Dir, "final"), testJsonl, [1], o, log);

            // (e) report
            var report = DemoReport.Write(o, p, r, c, conv.MaxLogitDiff ?? double.NaN, rec, noCurr, stat, recEval, statEval, clock.Elapsed);
            log($"(e) report: {report} ({clock.Elapsed.TotalMinutes:F1} min)");
            return report;
        }
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

    private static DemoEval Evaluate(string label, string modelDir, string testJsonl, IReadOnlyList<int> recurrences, DemoOptions o, Action<string> log)
    {
        var ops = File.ReadLines(testJsonl).Where(l => l.Trim().Length > 0).Select(l => JsonNode.Parse(l)!["ops"]!.GetValue<int>()).ToList();
        var task = EvalTasks.Gsm8k(new EvalTaskOptions { Data = testJsonl, NumFewshot = 0, MaxNewTokens = 12 });
        using var model = InferenceModel.Load(modelDir);
        using var tok = TextTokenizer.FromDirectory(modelDir);
        var byRec = new SortedDictionary<int, (double, double)>();
        var byOps = new SortedDictionary<int, IReadOnlyDictionary<int, double>>();
        var samples = new List<string>();
        foreach (var rec in recurrences)
        {
            var lm = new ModelLanguageModel(model, tok, new ModelLanguageModelOptions { Depth = new DepthOptions { Recurrence = model.IsRecurrent ? rec : null }, BatchSize = 32, Seed = 5 });
            var run = EvalRunner.RunTask(task, lm, rec, batchSize: 32);
            var point = run.Points.Single(x => x.Metric == GenerativeQaTask.StrictMetric);
            byRec[rec] = (point.Value, point.Stderr ?? 0);
            byOps[rec] = run.Samples.GroupBy(s => ops[s.Doc]).OrderBy(g => g.Key)
                .ToDictionary(g => g.Key, g => g.Average(s => s.Scores[GenerativeQaTask.StrictMetric]));
            log($"    {label} r={rec}: accuracy {point.Value:P1} ± {point.Stderr:P1} ({run.Seconds:F0} s)");
            samples.AddRange(run.Samples.Select(s => new JsonObject
            {
                ["model"] = label, ["recurrence"] = rec, ["doc"] = s.Doc, ["ops"] = ops[s.Doc], ["completion"] = s.Response, ["gold"] = s.Gold,
                ["strict"] = s.Extracted.TryGetValue("strict-match", out var x) ? x : null,
                ["correct"] = s.Scores[GenerativeQaTask.StrictMetric] > 0,
            }.ToJsonString()));
        }
        Reports.AtomicFile.WriteAllText(Path.Combine(o.Out, $"samples-{label}.jsonl"), string.Join("\n", samples) + "\n");
        return new DemoEval(label, byRec, byOps, ops.Count);
    }
}
