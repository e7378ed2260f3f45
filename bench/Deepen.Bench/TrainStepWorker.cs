using System.Diagnostics;
using System.Text.Json.Nodes;
using Deepen.Modeling;
using Deepen.Torch;
using Deepen.Training;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Bench;

/// <summary>
/// The Deepen side of <c>train-vs-pytorch</c>, run in a child process per configuration: the training step of
/// the recurrent model as the trainer runs it (<see cref="TrainStep"/>, the trainer's own code) (forward with n no-grad + k grad iterations from a random state,
/// float32 cross-entropy, backward — <c>--accum</c> times, gradients accumulated — global-norm clipping at 1.0, one
/// Muon/aux-Adam step, zero grad), in float32
/// or bf16-mixed (<see cref="MixedPrecision.Bf16Matmuls"/>). Prints one JSON line per step
/// (<c>{"step", "warmup", "ms", "fwd_ms", "bwd_ms", "opt_ms", "cpu_ms", "loss"}</c>; cpu_ms is the process CPU time of the step) and a final line with the peak RSS.
/// The PyTorch peer (<c>bench/peer/train_step.py</c>) prints the same lines.
/// </summary>
public static class TrainStepWorker
{
    public static int Run(string[] args)
    {
        var shape = BenchShape.FromArgs(args);
        bool bf16 = Measure.Arg(args, "--precision", "fp32") == "bf16";
        int steps = int.Parse(Measure.Arg(args, "--steps", "5")), warmup = int.Parse(Measure.Arg(args, "--warmup", "2"));
        int threads = int.Parse(Measure.Arg(args, "--threads", "2"));
        bool rssTrace = args.Contains("--rss-trace");   // where in a step the memory peak falls
        void Trace(int step, string phase)
        {
            if (rssTrace) Console.WriteLine(new JsonObject { ["rss_trace"] = phase, ["step"] = step, ["rss_mib"] = Measure.RssMiB(), ["peak_mib"] = Measure.PeakRssMiB() }.ToJsonString());
        }
        set_num_threads(threads);

        var recurrent = new RecurrentModel(shape.ToConfig());
        ModelInit.Normal(recurrent, 0.02, 0);
        using DeepenModel model = new RecurrentDeepenModel(recurrent);
        model.Module.train();
        using var optimizer = new MuonWithAuxAdam(model.ParameterGroups());
        var parameters = model.Module.parameters().ToList();
        using var data = new Generator(1);
        using var noise = new Generator(2);
        using var tokens = randint(0, shape.Vocab, [shape.Batch, shape.Seq + 1], dtype: ScalarType.Int64, generator: data);   // (B, T+1)
        using var inputs = tokens[.., ..^1].contiguous();                                                                      // (B, T)
        using var labels = tokens[.., 1..].contiguous();                                                                       // (B, T)
        var draw = new RecurrenceDraw(shape.NoGrad, shape.Grad);

        for (int step = 0; step < warmup + steps; step++)
        {
            using var scope = NewDisposeScope();
            var watch = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            Trace(step, "before_forward");
            double loss = 0, fwd = 0, bwd = 0;
            using (MixedPrecision.Use(bf16 ? ScalarType.BFloat16 : null))
            {
                for (int micro = 0; micro < shape.Accum; micro++)                                                 // gradient accumulation
                {
                    if (micro > 0) NativeGarbage.Collect();                                                       // as the trainer does
                    double t0 = watch.Elapsed.TotalMilliseconds, t1 = 0;
                    var (microLoss, _) = TrainStep.MicroBatch(model, inputs, labels, draw, noise, null, shape.Accum, null,     // the trainer's own step
                        afterForward: () => { t1 = watch.Elapsed.TotalMilliseconds; Trace(step, "after_forward"); });
                    loss += microLoss / shape.Accum;
                    Trace(step, "after_backward");
                    (fwd, bwd) = (fwd + t1 - t0, bwd + watch.Elapsed.TotalMilliseconds - t1);
                }
                if (step == 0 && model.NamedParameters().Where(p => p.parameter.grad is null).Select(p => p.name).ToList() is { Count: > 0 } missing)
                    throw new InvalidOperationException($"no gradient reached {missing.Count} parameters, e.g. {string.Join(", ", missing.Take(3))}");   // as the peer checks
                TrainStep.Apply(model, optimizer, gradClip: 1.0, lrMultiplier: 1.0);
                NativeGarbage.Collect();                           // as the trainer does after each step (timed, in opt_ms)
                double total = watch.Elapsed.TotalMilliseconds;
                Trace(step, "after_optimizer");
                Console.WriteLine(new JsonObject
                {
                    ["step"] = step, ["warmup"] = step < warmup, ["ms"] = total, ["fwd_ms"] = fwd, ["bwd_ms"] = bwd,
                    ["opt_ms"] = total - fwd - bwd, ["cpu_ms"] = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds, ["loss"] = loss,
                }.ToJsonString());
            }
        }
        Console.WriteLine(new JsonObject
        {
            ["peak_rss_mib"] = Measure.PeakRssMiB(), ["threads"] = get_num_threads(),
            ["params"] = parameters.Sum(p => p.numel()), ["runtime"] = $"TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}",
        }.ToJsonString());
        return 0;
    }
}
