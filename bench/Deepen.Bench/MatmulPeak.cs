using System.Diagnostics;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Deepen.Bench;

/// <summary>
/// This machine's matmul peak as TorchSharp reaches it: a square <c>n × n</c> product (2048 by default) in float32 and
/// bfloat16, <c>2·n³</c> FLOPs each; the best of several timed repetitions (each the mean of a few products) after a
/// warm-up. Run as a child process with the same threads and environment as the training workers; prints one JSON line.
/// </summary>
public static class MatmulPeak
{
    public static int Run(string[] args)
    {
        int n = int.Parse(Measure.Arg(args, "--size", "2048")), threads = int.Parse(Measure.Arg(args, "--threads", "2"));
        int reps = int.Parse(Measure.Arg(args, "--reps", "5")), inner = int.Parse(Measure.Arg(args, "--inner", "3"));
        set_num_threads(threads);
        var result = new JsonObject { ["size"] = n, ["threads"] = get_num_threads() };
        foreach (var (name, dtype) in new[] { ("fp32", ScalarType.Float32), ("bf16", ScalarType.BFloat16) })
            result[name + "_gflops"] = Best(n, dtype, reps, inner) / 1e9;
        Console.WriteLine(result.ToJsonString());
        return 0;
    }

    /// <summary>Best FLOP/s of <paramref name="reps"/> timings, each of <paramref name="inner"/> products.</summary>
    public static double Best(int n, ScalarType dtype, int reps, int inner, Device? device = null)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(0);
        var on = device ?? CPU;
        var a = randn([n, n], generator: gen).to(dtype, on);
        var b = randn([n, n], generator: gen).to(dtype, on);
        bool cuda = on.type == TorchSharp.DeviceType.CUDA;
        for (int i = 0; i < 2; i++) a.mm(b).Dispose();   // warm-up: thread pool, packing buffers
        if (cuda) cuda_synchronize();
        double best = 0;
        for (int r = 0; r < reps; r++)
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < inner; i++) a.mm(b).Dispose();
            if (cuda) cuda_synchronize();                 // kernels are asynchronous: time them to their end
            best = Math.Max(best, 2.0 * n * n * n * inner / watch.Elapsed.TotalSeconds);
        }
        return best;
    }

    private static void cuda_synchronize() => TorchSharp.torch.cuda.synchronize();
}
