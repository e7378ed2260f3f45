using System.Diagnostics;
using System.Globalization;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Torch;
using Deepen.Training;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Bench;

/// <summary>
/// The check to run on an accelerator (issue "Any device", item 6): the same recurrent model, initialised on the host,
/// trained a few steps on the CPU and on the device with the trainer's own step (<see cref="TrainStep"/>, Muon, the same
/// batches and initial-state noise); the per-step losses must agree within a tolerance (fp32 1e-3, bf16-mixed 3e-2
/// relative). Then a cached greedy generation on both must give the same tokens, and the device's training throughput
/// is timed with its MFU against the device's measured bf16 matmul peak. Prints a table; exits 1 when a check fails.
///   dotnet run --project bench/Deepen.Bench -c Release -p:LibTorchPackage=libtorch-cuda-12.8-linux-x64 -- gpu-check [--device cuda] [--steps 5] [--precision fp32|bf16] [--size tiny|mid]
/// With --device cpu it checks the harness itself (CPU against CPU).
/// </summary>
public static class GpuCheck
{
    public static int Run(string[] args)
    {
        Device device;
        try { device = ComputeDevice.Resolve(Measure.Arg(args, "--device", "cuda")); }
        catch (DeepenException e) { Console.Error.WriteLine($"gpu-check: {e.Message}"); return 2; }
        int steps = int.Parse(Measure.Arg(args, "--steps", "5"), CultureInfo.InvariantCulture);
        int timed = int.Parse(Measure.Arg(args, "--timed-steps", "10"), CultureInfo.InvariantCulture);
        bool bf16 = Measure.Arg(args, "--precision", "fp32") == "bf16";
        var shape = Measure.Arg(args, "--size", "tiny") == "mid" ? BenchShape.Mid(8) : BenchShape.Tiny(8);
        double tolerance = bf16 ? 3e-2 : 1e-3;
        Console.WriteLine($"gpu-check: {shape.Describe()}; {(bf16 ? "bf16-mixed" : "fp32")}; cpu against {ComputeDevice.Name(device)}");

        var cpuLosses = Train(shape, CPU, steps, bf16, out var cpuModel);
        var devLosses = Train(shape, device, steps, bf16, out var devModel);
        double worst = cpuLosses.Zip(devLosses, (a, b) => Math.Abs(a - b) / Math.Max(1e-12, Math.Abs(a))).Max();
        Console.WriteLine("| step | loss (cpu) | loss (" + ComputeDevice.Name(device) + ") | relative difference |");
        Console.WriteLine("|---|---|---|---|");
        for (int i = 0; i < steps; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {i + 1} | {cpuLosses[i]:F6} | {devLosses[i]:F6} | {Math.Abs(cpuLosses[i] - devLosses[i]) / Math.Abs(cpuLosses[i]):E2} |"));
        bool lossesAgree = worst <= tolerance;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training: worst relative loss difference {worst:E2} (tolerance {tolerance:E0}): {(lossesAgree ? "PASS" : "FAIL")}"));

        var cpuTokens = Greedy(cpuModel);
        var devTokens = Greedy(devModel);
        bool sameTokens = cpuTokens.SequenceEqual(devTokens);
        Console.WriteLine($"cached greedy generation, 24 tokens at r = 4: {(sameTokens ? "PASS (equal)" : $"FAIL: cpu [{string.Join(',', cpuTokens)}] vs [{string.Join(',', devTokens)}]")}");

        var (tokensPerSecond, stepMs) = Throughput(shape, devModel, timed, bf16);
        double peak = MatmulPeak.Best(2048, ScalarType.BFloat16, 5, 3, device);
        double mfu = tokensPerSecond * shape.TrainingFlopsPerToken() / peak;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"throughput on {ComputeDevice.Name(device)}: {tokensPerSecond:N0} training tokens/s ({stepMs:F1} ms a step of {shape.TokensPerStep} tokens), bf16 matmul peak {peak / 1e12:F1} TFLOP/s, MFU {mfu:P1}"));
        cpuModel.Dispose();
        devModel.Dispose();
        return lossesAgree && sameTokens ? 0 : 1;
    }

    /// <summary>A model on <paramref name="device"/> initialised from the host (seed 0), trained <paramref name="steps"/> steps.</summary>
    private static List<double> Train(BenchShape shape, Device device, int steps, bool bf16, out RecurrentModel model)
    {
        model = new RecurrentModel(shape.ToConfig(), ScalarType.Float32, device);
        ModelInit.Normal(model, 0.02, 0);                                  // drawn on the host: the same weights on every device
        var trainable = new RecurrentDeepenModel(model);
        trainable.Module.train();
        using var optimizer = new MuonWithAuxAdam(trainable.ParameterGroups());
        using var data = new TorchSharp.torch.Generator(1);
        var losses = new List<double>();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            using var noise = new TorchSharp.torch.Generator((ulong)(2 + step));
            var tokens = randint(0, shape.Vocab, [shape.Batch, shape.Seq + 1], dtype: ScalarType.Int64, generator: data).to(device);   // (B, T+1)
            var draw = new RecurrenceDraw(shape.NoGrad, shape.Grad);
            using (MixedPrecision.Use(bf16 ? ScalarType.BFloat16 : null))
            {
                var (loss, _) = TrainStep.MicroBatch(trainable, tokens[.., ..^1], tokens[.., 1..], draw, noise, null, 1, null);
                losses.Add(loss);
            }
            TrainStep.Apply(trainable, optimizer, gradClip: 1.0, lrMultiplier: 1.0);
            NativeGarbage.Collect();
        }
        trainable.Module.eval();
        return losses;
    }

    private static int[] Greedy(RecurrentModel model)
    {
        var inference = DeepenModel.For(model, "gpu-check");
        var prompt = Enumerable.Range(0, 16).Select(i => 1 + (i * 37) % 1000).ToArray();
        var options = new GenerationOptions { MaxNewTokens = 24, Depth = DepthOptions.Fixed(4, StateInit.Zeros) };
        return [.. new Deepen.Inference.Generator(inference).Generate([prompt], options)[0].Tokens.Select(t => t.Id)];
    }

    /// <summary>Training tokens per second on the model's device over <paramref name="timed"/> steps after two warm-up steps.</summary>
    private static (double TokensPerSecond, double StepMs) Throughput(BenchShape shape, RecurrentModel model, int timed, bool bf16)
    {
        var device = model.parameters().First().device;
        var trainable = new RecurrentDeepenModel(model);
        trainable.Module.train();
        using var optimizer = new MuonWithAuxAdam(trainable.ParameterGroups());
        using var data = new TorchSharp.torch.Generator(5);
        using var tokens = randint(0, shape.Vocab, [shape.Batch, shape.Seq + 1], dtype: ScalarType.Int64, generator: data).to(device);   // (B, T+1)
        var draw = new RecurrenceDraw(shape.NoGrad, shape.Grad);
        var watch = new Stopwatch();
        for (int step = 0; step < timed + 2; step++)
        {
            if (step == 2) watch.Start();                                      // the loss's .item() below synchronises each step
            using var scope = NewDisposeScope();
            using var noise = new TorchSharp.torch.Generator((ulong)step);
            using (MixedPrecision.Use(bf16 ? ScalarType.BFloat16 : null))
                TrainStep.MicroBatch(trainable, tokens[.., ..^1], tokens[.., 1..], draw, noise, null, 1, null);
            TrainStep.Apply(trainable, optimizer, gradClip: 1.0, lrMultiplier: 1.0);
            NativeGarbage.Collect();
        }
        double seconds = watch.Elapsed.TotalSeconds;
        return (timed * shape.TokensPerStep / seconds, seconds * 1000 / timed);
    }
}
