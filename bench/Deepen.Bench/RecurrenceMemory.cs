using System.Diagnostics;
using Deepen.Modeling;
using static TorchSharp.torch;

namespace Deepen.Bench;

/// <summary>
/// Peak memory of one training step (forward + backward) at r = 8, k = 8 against r = 32, k = 8: with
/// truncated backprop the extra no-grad iterations keep no activations, so memory should barely grow.
/// Each configuration runs in a fresh process so peak RSS is its own.
/// </summary>
public static class RecurrenceMemory
{
    public static int Run(string[] args)
    {
        if (args.Length >= 3 && args[0] == "--worker") return Worker(int.Parse(args[1]), int.Parse(args[2]));
        Console.WriteLine("model: (2,4,2) d=256 heads 8, FFN 1024, vocab 4096, batch 4 × seq 256, float32, one forward+backward");
        // glibc raises its mmap threshold after large frees, so freed no-grad activations land on the
        // brk heap and fragment it; a fixed threshold shows the memory the model itself needs.
        foreach (var fixedThreshold in new[] { false, true })
        {
            Console.WriteLine(fixedThreshold ? "\nwith MALLOC_MMAP_THRESHOLD_=131072 (fixed glibc mmap threshold)" : "\nglibc defaults");
            Table(fixedThreshold);
        }
        return 0;
    }

    private static void Table(bool fixedThreshold)
    {
        var rows = new List<(int r, int k, double rss, double ms)>();
        foreach (var (r, k) in Enumerable.Repeat(new[] { (8, 8), (32, 8), (16, 8) }, 3).SelectMany(x => x))   // interleaved, 3 runs each
        {
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
            if (fixedThreshold) psi.Environment["MALLOC_MMAP_THRESHOLD_"] = "131072";
            if (Environment.ProcessPath!.EndsWith("dotnet")) psi.ArgumentList.Add(typeof(RecurrenceMemory).Assembly.Location);
            foreach (var a in new[] { "recurrence-memory", "--worker", r.ToString(), k.ToString() }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var line = p.StandardOutput.ReadToEnd().Trim().Split('\n')[^1].Split(' ');
            p.WaitForExit();
            rows.Add((r, k, double.Parse(line[0]), double.Parse(line[1])));
        }
        Console.WriteLine($"{"r",4} {"k",4} {"peak RSS MiB",14} {"step ms",10}");
        foreach (var (r, k, rss, ms) in rows) Console.WriteLine($"{r,4} {k,4} {rss,14:F0} {ms,10:F0}");
        static double Median(IEnumerable<double> v) { var a = v.Order().ToArray(); return a[a.Length / 2]; }
        double base8 = Median(rows.Where(x => x.r == 8).Select(x => x.rss)), at32 = Median(rows.Where(x => x.r == 32).Select(x => x.rss));
        Console.WriteLine($"median peak RSS: r=8 {base8:F0} MiB, r=32 {at32:F0} MiB → r=32 vs r=8 (k=8): {(at32 / base8 - 1) * 100:+0.0;-0.0}%");
    }

    private static int Worker(int r, int k)
    {
        set_num_threads(2);
        var block = new ModelConfig
        {
            ModelType = "llama", VocabSize = 4096, HiddenSize = 256, IntermediateSize = 1024, NumLayers = 8,
            NumHeads = 8, NumKvHeads = 8, HeadDim = 32, RmsNormEps = 1e-5, RopeTheta = 10000,
        };
        var config = new RecurrentConfig { Block = block, PreludeLayers = 2, CoreLayers = 4, CodaLayers = 2 };
        using var model = new RecurrentModel(config);
        ModelInit.Normal(model, 0.02, 0);
        using var gen = new Generator(0);
        var ids = randint(0, 4096, [4, 256], dtype: ScalarType.Int64, generator: gen);
        var sw = Stopwatch.StartNew();
        using (var scope = NewDisposeScope())
        {
            var logits = model.forward(ids, new RecurrenceOptions(r, k, StateInit.Random, gen));
            nn.functional.cross_entropy(logits.view(-1, 4096), ids.view(-1)).backward();
        }
        Console.WriteLine($"{Measure.PeakRssMiB():F1} {sw.Elapsed.TotalMilliseconds:F0}");
        return 0;
    }
}
