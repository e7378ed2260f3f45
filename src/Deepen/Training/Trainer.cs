using System.Diagnostics;
using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Data;
using Deepen.Modeling;
using static TorchSharp.torch;

namespace Deepen.Training;

/// <summary>
/// The training recipe of method.md §4–§7 (a torchtune-style recipe: setup, train, save), reading top
/// to bottom: for every optimizer step, the scheduled mean recurrence r̄ and learning-rate multiplier;
/// for every micro-batch, a (no-grad, grad) recurrence draw seeded by the micro-batch index, a forward
/// pass with truncated backprop and the loss divided by the accumulation steps; then global-norm
/// clipping, one Muon/AdamW step, a metrics row, and periodic validation and checkpoints.
/// </summary>
public static class Trainer
{
    public static TrainResult Run(TrainConfig c, TrainRunOptions o)
    {
        var log = o.Rank == 0 ? o.Log : _ => { };
        c = c.Validate();
        if (!Directory.Exists(c.Model)) throw new DeepenException($"model: '{c.Model}' does not exist.");
        set_num_threads(c.Threads > 0 ? c.Threads : Environment.ProcessorCount);
        Directory.CreateDirectory(c.Out);
        var checkpoints = new CheckpointManager(c.Out, c.KeepLast);
        string? resumeDir = ResolveResume(c, o, checkpoints);

        // ---- setup ----
        var shards = TrainingData.Resolve(c, log);
        using var model = TrainableModel.Load(resumeDir ?? c.Model);
        model.Module.train();
        var (defaultMean, defaultDepth) = model.Defaults;
        int target = model.IsRecurrent ? (c.MeanRecurrence > 0 ? c.MeanRecurrence : defaultMean) : 1;
        int depth = model.IsRecurrent ? (c.BackpropDepth > 0 ? c.BackpropDepth : defaultDepth) : 1;
        var curriculum = !model.IsRecurrent || c.Curriculum == "none"
            ? MeanRecurrenceCurriculum.Constant(target)
            : MeanRecurrenceCurriculum.Ramp(target, c.MaxSteps, c.CurriculumWarmup, RampShapes.Parse(c.Curriculum));
        var depthCurriculum = c.BackpropCurriculum == "none"
            ? BackpropDepthCurriculum.Constant(depth)
            : BackpropDepthCurriculum.Ramp(depth, c.BackpropCurriculumStart, c.MaxSteps, c.CurriculumWarmup);
        var lrSchedule = new LrSchedule(c.MaxSteps, c.Warmup, c.Cooldown, c.MinLrRatio);
        var flops = model.Flops;
        using var optimizer = CreateOptimizer(c, model);
        var matmul = c.Precision == "bf16-mixed" ? ScalarType.BFloat16 : (ScalarType?)null;
        using var loader = new TokenShardLoader(shards.Train, new TokenShardLoaderOptions
        {
            BatchSize = c.MicroBatchSize, Seed = c.Seed, Rank = o.Rank, WorldSize = o.WorldSize,
            OnEnd = c.OnDataEnd == "stop" ? DataEndAction.Stop : DataEndAction.Wrap,
            ExpectedFingerprint = shards.Fingerprint, Log = log,
        });
        var seqSchedule = SeqLenSchedule.Parse(c.SeqLenSchedule, c.MaxSteps, model.MaxPositions);
        var stream = seqSchedule is null ? null : new TokenStream(loader);
        if (seqSchedule is null && loader.SeqLen > model.MaxPositions)
            throw new DeepenException($"train_data rows hold {loader.SeqLen} input tokens but the model's context is {model.MaxPositions}.");

        var metrics = new MetricsLog(Path.Combine(c.Out, MetricsLog.FileName));
        var state = new TrainerState(0, 0, 0, loader.State, 0);
        if (resumeDir is not null)
        {
            state = TrainerState.Load(resumeDir);
            OptimizerStateDict.Load(optimizer, Path.Combine(resumeDir, CheckpointManager.OptimizerFile));
            loader.Restore(state.Data);
            if (state.Stream is { } cursor) stream?.Restore(cursor);
            if (o.Rank == 0) metrics.TruncateAfter(state.Step);
            log($"resumed from {resumeDir} at step {state.Step}");
        }
        else if (o.Rank == 0 && File.Exists(metrics.Path)) File.Delete(metrics.Path);
        if (o.Rank == 0) WriteRunFiles(c, o);
        string companion = c.Model;
        log($"training {(model.IsRecurrent ? "recurrent" : "plain")} model {c.Model}: {c.MaxSteps} steps × {c.GradAccumSteps} × {c.MicroBatchSize}×{loader.SeqLen} tokens" +
            (model.IsRecurrent ? $", r̄ → {target} ({c.Curriculum}), backprop depth {depth}" : "") + $", {c.Optimizer}, {c.Precision}");

        // ---- train ----
        if (resumeDir is null) Validate(c, model, shards, matmul, 0, metrics, log, o.Rank);   // the starting point of the loss curve
        var clock = Stopwatch.StartNew();
        double elapsedBefore = state.ElapsedSeconds;
        string reason = "completed";
        bool stopped = false;
        long lastSaved = resumeDir is null ? -1 : state.Step;
        for (long step = state.Step + 1; step <= c.MaxSteps; step++)
        {
            var stepClock = Stopwatch.StartNew();
            int meanRec = curriculum.At(step - 1);
            int backprop = Math.Min(depthCurriculum.At(step - 1), Math.Max(1, meanRec));
            double lrMult = lrSchedule.Multiplier(step - 1);
            int seqLen = seqSchedule?.At(step - 1) ?? loader.SeqLen;
            double lossSum = 0;
            long stepTokens = 0;
            var draws = new List<RecurrenceDraw>();
            bool outOfData = false;
            using (var scope = NewDisposeScope())
            using (MixedPrecision.Use(matmul))
            {
                for (int micro = 0; micro < c.GradAccumSteps; micro++)
                {
                    long dataStep = (step - 1) * c.GradAccumSteps + micro + 1;
                    var draw = model.IsRecurrent ? RecurrenceSampler.Draw(meanRec, backprop, dataStep) : new RecurrenceDraw(0, 1);
                    draws.Add(draw);
                    TokenBatch batch;
                    if (!(stream is null ? loader.TryNext(out batch) : stream.TryNext(c.MicroBatchSize, seqLen, out batch))) { outOfData = true; break; }
                    using var b = batch;
                    using var microScope = NewDisposeScope();
                    using var noise = new Generator((ulong)(c.Seed * 1_000_003 + dataStep * 31 + o.Rank));
                    var logits = model.Logits(b.Inputs, draw, noise);                                   // (B, T, V)
                    var microLoss = nn.functional.cross_entropy(
                        logits.reshape(-1, logits.shape[^1]).to_type(ScalarType.Float32), b.Labels.reshape(-1));
                    (microLoss / c.GradAccumSteps).backward();
                    lossSum += microLoss.item<float>();
                    stepTokens += b.Labels.numel() * o.WorldSize;
                }
                if (outOfData)
                {
                    optimizer.ZeroGrad();
                    (stopped, reason) = (true, $"training data exhausted before step {step} (on_data_end: stop)");
                    break;
                }
                o.AllReduceGradients?.Invoke(model.Module.parameters().ToList());
                double loss = lossSum / c.GradAccumSteps;
                if (!double.IsFinite(loss))
                {
                    optimizer.ZeroGrad();
                    var last = checkpoints.Complete().LastOrDefault();
                    (stopped, reason) = (true, $"loss is {loss} at step {step}; stopped without applying the step. Last good checkpoint: {last ?? "none"}");
                    break;
                }
                double gradNorm = GradientClipping.ClipGlobalNorm(model.Module.parameters(), c.GradClip);
                optimizer.Step(lrMult);
                optimizer.ZeroGrad();

                double stepFlops = (double)flops.TrainingFlopsPerToken(meanRec) * stepTokens;
                double seconds = stepClock.Elapsed.TotalSeconds;
                state = state with
                {
                    Step = step, Tokens = state.Tokens + stepTokens, TrainFlops = state.TrainFlops + stepFlops,
                    Data = loader.State, ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds, Stream = stream?.Cursor,
                };
                var row = new JsonObject
                {
                    ["step"] = step, ["tokens"] = state.Tokens, ["lr"] = c.Lr * lrMult, ["muon_lr"] = c.MuonLr * lrMult,
                    ["loss"] = loss, ["grad_norm"] = gradNorm,
                    ["mean_recurrence"] = meanRec, ["backprop_depth"] = backprop,
                    ["n_no_grad"] = draws[^1].NoGrad, ["k_grad"] = draws[^1].Grad,
                    ["draws"] = new JsonArray(draws.Select(d => (JsonNode)new JsonArray(d.NoGrad, d.Grad)).ToArray()),
                    ["seq_len"] = seqLen,
                    ["tokens_per_s"] = stepTokens / seconds, ["step_s"] = seconds,
                    ["train_flops"] = state.TrainFlops, ["peak_rss_mb"] = PeakRssMb(), ["elapsed_s"] = state.ElapsedSeconds,
                };
                if (o.Rank == 0) metrics.Append(row);
                double eta = (c.MaxSteps - step) * (clock.Elapsed.TotalSeconds / (step - (resumeDir is null ? 0 : lastSaved)));
                log($"step {step}/{c.MaxSteps} | loss {loss:F4} | lr {c.Lr * lrMult:E2} | r̄ {meanRec} (n {draws[^1].NoGrad}, k {draws[^1].Grad}) | gnorm {gradNorm:F3} | {stepTokens / seconds:N0} tok/s | rss {PeakRssMb():F0} MB | eta {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}");
            }

            if (c.EvalEvery > 0 && step % c.EvalEvery == 0 && step < c.MaxSteps) Validate(c, model, shards, matmul, step, metrics, log, o.Rank);
            bool interrupted = o.Cancel.IsCancellationRequested;
            if ((c.SaveEvery > 0 && step % c.SaveEvery == 0) || interrupted)
            {
                if (o.Rank == 0) log($"checkpoint: {checkpoints.Save(step, model, optimizer, state, companion)}");
                lastSaved = step;
                if (o.KillAfterStep == step) Process.GetCurrentProcess().Kill();   // SIGKILL: the crash the resume test needs
            }
            if (interrupted) { (stopped, reason) = (true, $"interrupted after step {step}; resume with --resume auto"); break; }
        }

        // ---- save ----
        if (stopped)
        {
            log($"stopped: {reason}");
            return new TrainResult((int)state.Step, true, reason, checkpoints.Complete().LastOrDefault() ?? "");
        }
        Validate(c, model, shards, matmul, state.Step, metrics, log, o.Rank);
        var final = Path.Combine(c.Out, "final");
        if (o.Rank == 0)
        {
            var dtype = c.SaveDtype == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
            AtomicDirectory.Write(final, overwrite: true, tmp =>
            {
                model.WriteInto(tmp, dtype);
                RecurrentCheckpoint.CopyCompanions(companion, tmp);
            });
            log($"final model: {final} ({state.Tokens:N0} tokens, {state.TrainFlops:E3} training FLOPs, {state.ElapsedSeconds:F0} s)");
        }
        return new TrainResult((int)state.Step, false, reason, final);
    }

    private static string? ResolveResume(TrainConfig c, TrainRunOptions o, CheckpointManager checkpoints)
    {
        if (o.Resume is not null)
        {
            var dir = checkpoints.Resolve(o.Resume);
            if (dir is null && o.Resume != "auto") throw new DeepenException($"--resume {o.Resume}: no checkpoint found.");
            return dir;
        }
        if (checkpoints.Complete().Count > 0)
            throw new DeepenException($"{c.Out} already holds checkpoints; pass --resume auto to continue that run, or choose another --out.");
        return null;
    }

    private static ITrainingOptimizer CreateOptimizer(TrainConfig c, TrainableModel model) => c.Optimizer switch
    {
        "muon" => new MuonWithAuxAdam(model.NamedParameters(),
            new MuonSettings(Lr: c.MuonLr, WeightDecay: c.MuonWeightDecay), new AdamSettings(Lr: c.Lr, WeightDecay: c.WeightDecay)),
        "adamw" => new AdamWOptimizer(model.NamedParameters(), new AdamWSettings(Lr: c.Lr, WeightDecay: c.WeightDecay)),
        _ => throw new DeepenException($"optimizer '{c.Optimizer}': expected muon or adamw."),
    };

    private static void Validate(TrainConfig c, TrainableModel model, TrainingShards shards, ScalarType? matmul, long step, MetricsLog metrics, Action<string> log, int rank)
    {
        if (shards.Val.Count == 0 || rank != 0) return;
        var sw = Stopwatch.StartNew();
        var losses = Validation.Run(model, shards.Val, c.ValRecurrences, c.MicroBatchSize, c.ValBatches, c.Seed, shards.Fingerprint, matmul);
        var row = new JsonObject { ["step"] = step, ["kind"] = "validation" };
        foreach (var (r, loss) in losses) row[model.IsRecurrent ? $"val_loss_r{r}" : "val_loss"] = loss.Loss;
        row["val_s"] = sw.Elapsed.TotalSeconds;
        metrics.Append(row);
        log($"validation @ {step}: " + string.Join(", ", losses.Select(kv => model.IsRecurrent ? $"r={kv.Key} {kv.Value.Loss:F4}" : $"{kv.Value.Loss:F4}")));
    }

    private static void WriteRunFiles(TrainConfig c, TrainRunOptions o) =>
        TrainConfigFile.Save(c, Path.Combine(c.Out, "config.yaml"), o.CommandLine is null ? null : [o.CommandLine]);

    public static double PeakRssMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        }
        catch (IOException) { }
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024);
    }
}
