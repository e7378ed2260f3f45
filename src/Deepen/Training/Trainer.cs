using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Data;
using Deepen.Modeling;
using Deepen.Tokenization;
using Deepen.Torch;
using Deepen.Training.Distributed;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Training;

/// <summary>
/// The training recipe of method.md §4–§7 (a torchtune-style recipe: setup, train, save), reading top
/// to bottom: for every optimizer step, the scheduled mean recurrence r̄ and learning-rate multiplier;
/// for every micro-batch, a (no-grad, grad) recurrence draw seeded by the micro-batch index, a forward
/// pass with truncated backprop and the loss divided by the accumulation steps; then global-norm
/// clipping, one Muon/AdamW step, a metrics row, and periodic validation and checkpoints.
/// <para>
/// Data parallel (<see cref="TrainRunOptions.Collective"/> with several ranks): every rank runs this same
/// loop on its own rows of each global batch (<see cref="TokenShardLoader"/> interleaves them), with the
/// same recurrence draws; after the micro-batches the gradients, the loss and the interrupt flag are
/// summed over ranks, so clipping, the optimizer step, NaN detection and stopping agree everywhere and the
/// weights stay identical (checked at every checkpoint). The initial-state noise is drawn for all ranks'
/// rows and sharded like the data, so W ranks × B rows train exactly as one process with W·B rows, up to
/// the order of float additions. Rank 0 alone logs, validates and writes metrics, checkpoints and the
/// final model; raw inputs are tokenized by rank 0 while the others wait.
/// </para>
/// <para>The run is a small class: <see cref="Setup"/> (model, data, schedules, optimizer, resume),
/// <see cref="Train"/> (the loop), <see cref="Step"/> (one optimizer step, its arithmetic in <see cref="TrainStep"/>),
/// <see cref="Validate"/>, <see cref="SaveCheckpoint"/> and <see cref="SaveFinal"/>.</para>
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly TrainConfig c;
    private readonly TrainRunOptions o;
    private readonly Action<string> log;
    private readonly ICollective ranks;
    private readonly CheckpointManager checkpoints;
    private readonly string? resumeDir;
    private TrainingShards shards = null!;
    private DeepenModel? model;
    private AnswerLossMask? answerMask;
    private MeanRecurrenceCurriculum curriculum = null!;
    private BackpropDepthCurriculum depthCurriculum = null!;
    private LrSchedule lrSchedule = null!;
    private FlopCounter flops = null!;
    private ITrainingOptimizer? optimizer;
    private GradientAllReducer? reducer;
    private ScalarType? matmul;
    private TokenShardLoader? loader;
    private SeqLenSchedule? seqSchedule;
    private TokenStream? stream;
    private MetricsLog metrics = null!;
    private TrainerState state = null!;
    // The loop's clock (set by Train): training time before this process, and the first step it runs.
    private readonly Stopwatch clock = new();
    private double elapsedBefore;
    private long firstStep;

    /// <summary>Trains <paramref name="c"/> as <paramref name="o"/> says: setup, the loop, the final model.</summary>
    public static TrainResult Run(TrainConfig c, TrainRunOptions o)
    {
        using var trainer = Setup(c, o);
        return trainer.Train();
    }

    private Trainer(TrainConfig config, TrainRunOptions options)
    {
        o = options;
        log = o.Rank == 0 ? o.Log : _ => { };
        ranks = o.Collective;
        c = config.Validate();
        if (!Directory.Exists(c.Model)) throw new DeepenException($"model: '{c.Model}' does not exist.");
        Directory.CreateDirectory(c.Out);
        checkpoints = new CheckpointManager(c.Out, c.KeepLast);
        resumeDir = ResolveResume(c, o, checkpoints);
    }

    /// <summary>Everything before the first step: threads, data, the model (from the checkpoint when resuming), the
    /// schedules, the optimizer and its state, the loader and the run files. Disposes what it made if a step of it fails.</summary>
    public static Trainer Setup(TrainConfig config, TrainRunOptions options)
    {
        var t = new Trainer(config, options);
        try { t.Load(); return t; }
        catch { t.Dispose(); throw; }
    }

    private void Load()
    {
        int threads = c.Threads > 0 ? c.Threads : DistributedLaunch.DefaultThreads(ranks.LocalSize);
        set_num_threads(threads);
        if (o.Rank != 0) ranks.Barrier();   // rank 0 tokenizes raw inputs (once, into OUT/data) while the others wait
        shards = TrainingData.Resolve(c, log);
        if (o.Rank == 0) ranks.Barrier();
        var device = ComputeDevice.ForRank(ComputeDevice.Resolve(c.Device), c.Device, ranks.LocalRank);
        log(ComputeDevice.Describe(device, chosen: !string.IsNullOrWhiteSpace(c.Device)));
        var model = this.model = DeepenModel.Load(resumeDir ?? c.Model, device: device);
        model.Module.train();
        answerMask = c.LossOn == LossTokens.Answer ? LossMaskFor(c) : null;
        var (target, depth) = model.Targets(c.MeanRecurrence, c.BackpropDepth);
        curriculum = target == 1 || c.Curriculum == CurriculumShape.None                     // one recurrence has nothing to ramp
            ? MeanRecurrenceCurriculum.Constant(target)
            : MeanRecurrenceCurriculum.Ramp(target, c.MaxSteps, c.CurriculumWarmup, c.Curriculum == CurriculumShape.Linear ? RampShape.Linear : RampShape.OneMinusSqrt);
        depthCurriculum = c.BackpropCurriculum == CurriculumShape.None
            ? BackpropDepthCurriculum.Constant(depth)
            : BackpropDepthCurriculum.Ramp(depth, c.BackpropCurriculumStart, c.MaxSteps, c.CurriculumWarmup);
        lrSchedule = new LrSchedule(c.MaxSteps, c.Warmup, c.Cooldown, c.MinLrRatio);
        flops = model.Flops;
        var optimizer = this.optimizer = CreateOptimizer(c, model);
        reducer = o.WorldSize > 1 ? new GradientAllReducer(model.Module.parameters().ToList(), ranks, o.BucketBytes) : null;
        matmul = c.Precision == PrecisionKind.Bf16Mixed ? ScalarType.BFloat16 : null;
        var loader = this.loader = new TokenShardLoader(shards.Train, new TokenShardLoaderOptions
        {
            BatchSize = c.MicroBatchSize, Seed = c.Seed, Rank = o.Rank, WorldSize = o.WorldSize,
            OnEnd = c.OnDataEnd,
            ExpectedFingerprint = shards.Fingerprint, Log = log,
        });
        seqSchedule = SeqLenSchedule.Parse(c.SeqLenSchedule, c.MaxSteps, model.ContextLength);
        stream = seqSchedule is null ? null : new TokenStream(loader);
        if (seqSchedule is null && loader.SeqLen > model.ContextLength)
            throw new DeepenException($"train_data rows hold {loader.SeqLen} input tokens but the model's context is {model.ContextLength}.");

        metrics = new MetricsLog(Path.Combine(c.Out, MetricsLog.FileName));
        state = new TrainerState(0, 0, 0, loader.State, 0);
        if (resumeDir is not null)
        {
            state = TrainerState.Load(resumeDir);
            OptimizerStateDict.Load(optimizer, Path.Combine(resumeDir, CheckpointManager.OptimizerFile), model.StateFromCheckpoint);
            loader.Restore(state.Data);
            if (stream is not null) RestoreStream(stream, state, o, resumeDir);
            if (state.WorldSize != o.WorldSize)
                log($"the checkpoint was trained on {state.WorldSize} rank(s), this run has {o.WorldSize}: the data continues where it stopped, but the global batch is now {o.WorldSize} × {c.GradAccumSteps} × {c.MicroBatchSize} sequences");
            if (o.Rank == 0) metrics.TruncateAfter(state.Step);
            log($"resumed from {resumeDir} at step {state.Step}");
        }
        else if (o.Rank == 0 && File.Exists(metrics.Path)) File.Delete(metrics.Path);
        if (o.Rank == 0) TrainConfigFile.Save(c, Path.Combine(c.Out, "config.yaml"), o.CommandLine is null ? null : [o.CommandLine]);
        log($"training {model.Kind} model {c.Model}: {c.MaxSteps} steps × " +
            (o.WorldSize > 1 ? $"{o.WorldSize} ranks × " : "") + $"{c.GradAccumSteps} × {c.MicroBatchSize}×{loader.SeqLen} tokens" +
            model.DescribeDepth(target, ConfigWords.Of(c.Curriculum), depth) + $", {ConfigWords.Of(c.Optimizer)}, {ConfigWords.Of(c.Precision)}");
        if (o.WorldSize > 1)
            log($"data parallel over {o.WorldSize} ranks ({ranks.Description}; {ranks.LocalSize} on this machine), {threads} torch thread(s) per rank, " +
                $"gradients averaged in {reducer!.BucketElements.Count} bucket(s) of ≤ {o.BucketBytes / (1 << 20)} MB");
    }

    /// <summary>The loop from the state's step to max_steps: steps, periodic validation and checkpoints, then the final
    /// model; or an early stop (NaN loss, data exhausted, interrupt) with the last good checkpoint.</summary>
    public TrainResult Train()
    {
        if (resumeDir is null) Validate(0);                                          // the starting point of the loss curve
        clock.Restart();
        elapsedBefore = state.ElapsedSeconds;
        firstStep = state.Step + 1;
        for (long step = firstStep; step <= c.MaxSteps; step++)
        {
            var outcome = Step(step);
            if (outcome.StopReason is { } stop) return Stopped(stop);
            NativeGarbage.Collect();                                     // the step's dead TorchSharp scalars, before glibc's heap ratchets up

            if (c.EvalEvery > 0 && step % c.EvalEvery == 0 && step < c.MaxSteps) Validate(step);
            bool interrupted = outcome.Interrupted;
            if (o.WorldSize == 1) interrupted |= o.Cancel.IsCancellationRequested;   // on several ranks only the agreed flag counts
            if ((c.SaveEvery > 0 && step % c.SaveEvery == 0) || interrupted) SaveCheckpoint(step);
            if (interrupted) return Stopped($"interrupted after step {step}; resume with --resume auto");
        }
        Validate(state.Step);
        return new TrainResult((int)state.Step, false, "completed", SaveFinal());
    }

    /// <summary>An early stop: logged, with the last complete checkpoint as the run's result.</summary>
    private TrainResult Stopped(string reason)
    {
        log($"stopped: {reason}");
        return new TrainResult((int)state.Step, true, reason, checkpoints.Complete().LastOrDefault() ?? "");
    }

    /// <summary>What one step ended with: a reason to stop without applying it, and whether a rank was interrupted.</summary>
    private readonly record struct StepOutcome(string? StopReason, bool Interrupted);

    /// <summary>
    /// Optimizer step <paramref name="step"/>: its scheduled r̄, backprop depth, LR multiplier and sequence length; every
    /// micro-batch with its recurrence draw (seeded by the global micro-batch index) through <see cref="TrainStep"/>;
    /// the gradients and loss summed over ranks; a NaN check; clip and step; the state, a metrics row and the log line.
    /// </summary>
    private StepOutcome Step(long step)
    {
        var model = this.model!;
        var stepClock = Stopwatch.StartNew();
        int meanRec = curriculum.At(step - 1);
        int backprop = Math.Min(depthCurriculum.At(step - 1), Math.Max(1, meanRec));
        double lrMult = lrSchedule.Multiplier(step - 1);
        int seqLen = seqSchedule?.At(step - 1) ?? loader!.SeqLen;
        Tensor? lossSum = null;                                      // float64 on the model's device: read once a step
        long stepTokens = 0;
        var draws = new List<RecurrenceDraw>();
        using var scope = NewDisposeScope();
        using var precision = MixedPrecision.Use(matmul);
        for (int micro = 0; micro < c.GradAccumSteps; micro++)
        {
            if (micro > 0) NativeGarbage.Collect();                 // the previous micro-batch's dead scalars
            long dataStep = (step - 1) * c.GradAccumSteps + micro + 1;
            var draw = model.Draw(meanRec, backprop, dataStep);
            draws.Add(draw);
            TokenBatch batch;
            if (!(stream is null ? loader!.TryNext(out batch) : stream.TryNext(c.MicroBatchSize, seqLen, out batch)))
            {
                optimizer!.ZeroGrad();
                return new StepOutcome($"training data exhausted before step {step} (on_data_end: stop)", false);
            }
            using var b = batch.To(model.Device);                  // made on the host, used where the weights are
            // One seed for all ranks; each rank keeps its rows of the noise drawn for the global micro-batch.
            using var noise = new Generator((ulong)(c.Seed * 1_000_003 + dataStep * 31));
            var (microLoss, answers) = TrainStep.MicroBatchOnDevice(model, b.Inputs, b.Labels, draw, noise,
                o.WorldSize > 1 ? new NoiseShard(o.Rank, o.WorldSize) : null, c.GradAccumSteps, answerMask);
            if (answers == 0 && step == firstStep && micro == 0)
                throw new DeepenException($"loss_on: answer: the first batch holds no answer (no answer_marker '{c.AnswerMarker.Replace("\n", "\\n")}' followed by tokens up to EOS); check answer_marker against the training text.");
            lossSum = lossSum is null ? microLoss : lossSum.add_(microLoss, Scalars.One);   // held Scalar: no temporary
            stepTokens += b.Labels.numel() * o.WorldSize;   // every rank's batch has this shape
        }
        reducer?.AllReduce();                                        // gradients: mean over ranks
        Span<double> sums = [lossSum!.item<double>(), o.Cancel.IsCancellationRequested ? 1 : 0];   // the step's one wait for the loss
        ranks.AllReduceSum(sums);                                    // the loss and "someone was interrupted", over ranks
        bool interrupted = sums[1] > 0;
        double loss = sums[0] / (c.GradAccumSteps * o.WorldSize);
        if (!double.IsFinite(loss))
        {
            optimizer!.ZeroGrad();
            return new StepOutcome($"loss is {loss} at step {step}; stopped without applying the step. Last good checkpoint: {checkpoints.Complete().LastOrDefault() ?? "none"}", interrupted);
        }
        double gradNorm = TrainStep.Apply(model, optimizer!, c.GradClip, lrMult);

        double stepFlops = (double)flops.TrainingFlopsPerToken(meanRec) * stepTokens;
        double seconds = stepClock.Elapsed.TotalSeconds;
        state = state with
        {
            Step = step, Tokens = state.Tokens + stepTokens, TrainFlops = state.TrainFlops + stepFlops,
            Data = loader!.State, ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds, Stream = stream?.Cursor,
            WorldSize = o.WorldSize, RankStreams = null,
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
        double eta = (c.MaxSteps - step) * (clock.Elapsed.TotalSeconds / (step - firstStep + 1));
        log($"step {step}/{c.MaxSteps} | loss {loss:F4} | lr {c.Lr * lrMult:E2} | r̄ {meanRec} (n {draws[^1].NoGrad}, k {draws[^1].Grad}) | gnorm {gradNorm:F3} | {stepTokens / seconds:N0} tok/s | rss {PeakRssMb():F0} MB | eta {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}");
        if (o.Rank == 0) o.Progress?.Invoke(step, c.MaxSteps);
        return new StepOutcome(null, interrupted);
    }

    /// <summary>Held-out loss at every validation recurrence (rank 0), one metrics row and one log line.</summary>
    public void Validate(long step)
    {
        var model = this.model!;
        if (shards.Val.Count == 0 || o.Rank != 0) return;
        var sw = Stopwatch.StartNew();
        var losses = Validation.Run(model, shards.Val, c.ValRecurrences, c.MicroBatchSize, c.ValBatches, c.Seed, shards.Fingerprint, matmul, answerMask);
        var row = new JsonObject { ["step"] = step, ["kind"] = "validation" };
        foreach (var (r, loss) in losses) row[model.ValidationLabel(r, loss.Loss).Key] = loss.Loss;
        row["val_s"] = sw.Elapsed.TotalSeconds;
        metrics.Append(row);
        log($"validation @ {step}: " + string.Join(", ", losses.Select(kv => model.ValidationLabel(kv.Key, kv.Value.Loss).Text)));
    }

    /// <summary>A resumable checkpoint of <paramref name="step"/> (rank 0 writes; on several ranks the weights are checked
    /// equal first), then <see cref="TrainRunOptions.AfterCheckpoint"/>.</summary>
    public void SaveCheckpoint(long step)
    {
        if (o.WorldSize > 1)
        {
            if (stream is not null)
                state = state with { RankStreams = ranks.AllGatherStrings(JsonSerializer.Serialize(stream.Cursor)).Select(j => JsonSerializer.Deserialize<StreamCursor>(j)!).ToList() };
            CheckRanksAgree(ranks, model!, step);
        }
        if (o.Rank == 0) log($"checkpoint: {checkpoints.Save(step, model!, optimizer!, state, c.Model)}");
        if (o.AfterCheckpoint is { } afterCheckpoint)
        {
            ranks.Barrier();                                  // on several ranks: once rank 0's checkpoint is complete
            afterCheckpoint(step);
        }
    }

    /// <summary>OUT/final in save_dtype with the source's tokenizer files (rank 0, written to a temporary directory and renamed).</summary>
    public string SaveFinal()
    {
        var final = Path.Combine(c.Out, "final");
        if (o.Rank == 0)
        {
            var dtype = c.SaveDtype == SaveDtypeKind.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
            AtomicDirectory.Write(final, overwrite: true, tmp =>
            {
                model!.WriteInto(tmp, dtype);
                RecurrentCheckpoint.CopyCompanions(c.Model, tmp);
            });
            log($"final model: {final} ({state.Tokens:N0} tokens, {state.TrainFlops:E3} training FLOPs, {state.ElapsedSeconds:F0} s)");
        }
        return final;
    }

    /// <summary>Disposes the loader, the all-reducer, the optimizer and the model, in that order (the reverse of setup).</summary>
    public void Dispose()
    {
        loader?.Dispose();
        reducer?.Dispose();
        optimizer?.Dispose();
        model?.Dispose();
    }

    /// <summary>Rank 0 decides where to resume from; the others check that they see that checkpoint too.</summary>
    private static string? ResolveResume(TrainConfig c, TrainRunOptions o, CheckpointManager checkpoints)
    {
        if (o.WorldSize == 1) return ResolveResumeHere(c, o, checkpoints);
        var dir = o.Collective.BroadcastString(o.Rank == 0 ? ResolveResumeHere(c, o, checkpoints) : null);
        if (dir is not null && !CheckpointManager.IsComplete(dir))
            throw new DeepenException($"rank {o.Rank} cannot see rank 0's checkpoint {dir}: every rank must see the run directory '{c.Out}' (a shared filesystem).");
        return dir;
    }

    private static string? ResolveResumeHere(TrainConfig c, TrainRunOptions o, CheckpointManager checkpoints)
    {
        if (o.Resume is not null)
        {
            var dir = checkpoints.Resolve(o.Resume);
            if (dir is null && o.Resume != "auto") throw DeepenException.BadSetting("resume", $"{o.Resume}: no checkpoint found.");
            return dir;
        }
        if (checkpoints.Complete().Count > 0)
            throw new DeepenException($"{c.Out} already holds checkpoints; pass `resume` auto to continue that run, or choose another `out`.");
        return null;
    }

    /// <summary>Each rank continues its own token stream: rank r's cursor of a multi-rank checkpoint.</summary>
    private static void RestoreStream(TokenStream stream, TrainerState state, TrainRunOptions o, string dir)
    {
        if (state.RankStreams is { } all)
        {
            if (all.Count != o.WorldSize)
                throw new DeepenException($"{dir}: written by {all.Count} ranks with a seq_len_schedule, whose token streams are per rank; resume it with mpirun -n {all.Count}.");
            stream.Restore(all[o.Rank]);
        }
        else if (state.Stream is { } cursor)
        {
            if (o.WorldSize > 1 && state.WorldSize != o.WorldSize)
                throw new DeepenException($"{dir}: written by {state.WorldSize} rank(s) with a seq_len_schedule, whose token streams are per rank; resume it with {(state.WorldSize == 1 ? "one process" : $"mpirun -n {state.WorldSize}")}.");
            stream.Restore(cursor);
        }
    }

    /// <summary>Data-parallel ranks must hold bit-identical weights; a difference (e.g. ranks run with different thread counts) stops the run.</summary>
    private static void CheckRanksAgree(ICollective ranks, DeepenModel model, long step)
    {
        ulong mine = ParameterChecksum.Of(model.Module.parameters());
        long rank0 = ranks.BroadcastInt64((long)mine);
        double differ = ranks.AllReduceSum((long)mine == rank0 ? 0.0 : 1.0);
        if (differ > 0)
            throw new DeepenException($"after step {step}, {differ} of {ranks.WorldSize} ranks hold weights that differ from rank 0's; " +
                                      "run every rank with the same `threads` and library versions, and continue with `resume` auto, which gives every rank the checkpoint's weights.");
    }

    private static ITrainingOptimizer CreateOptimizer(TrainConfig c, DeepenModel model) => c.Optimizer switch
    {
        OptimizerKind.Muon => new MuonWithAuxAdam(model.ParameterGroups(),
            new MuonSettings(Lr: c.MuonLr, WeightDecay: c.MuonWeightDecay), new AdamSettings(Lr: c.Lr, WeightDecay: c.WeightDecay)),
        OptimizerKind.AdamW => new AdamWOptimizer(model.NamedParameters(), new AdamWSettings(Lr: c.Lr, WeightDecay: c.WeightDecay)),
        _ => throw new ArgumentOutOfRangeException(nameof(c), c.Optimizer, "optimizer: validated before the run."),
    };

    /// <summary>The answer mask of <c>loss_on: answer</c>: the marker encoded with the model's own tokenizer.</summary>
    private static AnswerLossMask LossMaskFor(TrainConfig c)
    {
        using var tok = TextTokenizer.FromDirectory(c.Model);
        int eos = tok.EosId ?? throw new DeepenException($"loss_on: answer: the tokenizer of {c.Model} has no EOS token, which ends each answer.");
        return new AnswerLossMask(tok.Encode(c.AnswerMarker, addSpecialTokens: false), eos, tok.BosId);
    }

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
