using System.Diagnostics;
using Deepen.Models;
using static TorchSharp.torch;

namespace Deepen.Bench;

/// <summary>
/// One cached decode step's time against the cache's length and the batch: a plain model (default models/tiny-base,
/// 8 query heads sharing 4 KV heads) prefilled with L random tokens per row, then timed over decode steps. A step whose
/// time grows with L at batch 12 but not at batch 1 is copying the cache, not attending to it.
/// </summary>
public static class DecodeByCacheLength
{
    public static int Run(string[] args)
    {
        string dir = Measure.Arg(args, "--model", "models/tiny-base");
        int threads = int.Parse(Measure.Arg(args, "--threads", "1"));
        int steps = int.Parse(Measure.Arg(args, "--steps", "40"));
        set_num_threads(threads);
        using var model = DeepenModel.Load(dir);
        var depth = new DepthOptions();
        Console.WriteLine($"model: {dir} ({model.Kind}), {threads} thread(s), mean of {steps} decode steps after a warm-up of 5");
        Console.WriteLine();
        Console.WriteLine("| batch | cached tokens | ms per step | ms per row |");
        Console.WriteLine("|---|---|---|---|");
        using var noGrad = no_grad();
        using var gen = new Generator(7);
        foreach (int batch in new[] { 1, 12 })
            foreach (int cached in new[] { 13, 100, 300 })
            {
                using var cache = model.NewCache(batch, null, cached + steps + 8, depth);
                using (NewDisposeScope()) model.Step(randint(3, model.VocabSize - 1, [batch, cached], dtype: ScalarType.Int64, generator: gen), cache, depth, null);
                double ms = 0;
                for (int i = 0; i < steps + 5; i++)
                {
                    using var scope = NewDisposeScope();
                    var ids = randint(3, model.VocabSize - 1, [batch, 1], dtype: ScalarType.Int64, generator: gen);
                    var watch = Stopwatch.StartNew();
                    _ = model.Step(ids, cache, depth, null).Logits.argmax(-1).cpu();
                    if (i >= 5) ms += watch.Elapsed.TotalMilliseconds;
                }
                Console.WriteLine($"| {batch} | {cached} | {ms / steps:F2} | {ms / steps / batch:F2} |");
            }
        return 0;
    }
}
