using System.Diagnostics;
using Deepen.Inference;
using Deepen.Modeling;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Bench;

/// <summary>
/// Generation speed with and without the KV cache: a random (2,4,2) recurrent model (d = 256), a 32-token prompt,
/// 128 new tokens at r = 8, greedy, fresh noise per token. Without the cache every step re-runs the whole sequence.
/// Also the memory-saving cache (fewer iterations kept per core layer): its speed and cache size.
/// </summary>
public static class GenerateSpeed
{
    public static int Run(string[] args)
    {
        int threads = int.Parse(Measure.Arg(args, "--threads", "1"));   // decode steps are many small ops: on a shared 2-core box, 2 OpenMP threads made them erratic
        int r = int.Parse(Measure.Arg(args, "--recurrence", "8"));
        int tokens = int.Parse(Measure.Arg(args, "--tokens", "128"));
        int promptLength = int.Parse(Measure.Arg(args, "--prompt", "32"));
        set_num_threads(threads);
        var block = new ModelConfig
        {
            ModelType = "llama", VocabSize = 4096, HiddenSize = 256, IntermediateSize = 1024, NumLayers = 8,
            NumHeads = 8, NumKvHeads = 8, HeadDim = 32, RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = 2048,
        };
        var config = new RecurrentConfig { Block = block, PreludeLayers = 2, CoreLayers = 4, CodaLayers = 2 };
        using var recurrent = new RecurrentModel(config);
        ModelInit.Normal(recurrent, 0.02, 0);
        recurrent.eval();
        using var model = DeepenModel.For(recurrent, "random-2-4-2-d256");
        var generator = new Deepen.Inference.Generator(model);
        var rng = new Random(1);
        int[] prompt = Enumerable.Range(0, promptLength).Select(_ => rng.Next(3, 4096)).ToArray();
        var baseOptions = new GenerationOptions { MaxNewTokens = tokens, StopAtEos = false, Depth = DepthOptions.Fixed(r), Seed = 5 };

        Console.WriteLine($"model: random (2,4,2) d=256, 8 heads, FFN 1024, vocab 4096, float32; prompt {promptLength} tokens, {tokens} new tokens, r = {r}, greedy, {threads} threads");
        generator.Generate([prompt], baseOptions with { MaxNewTokens = 4 });   // warm-up
        var rows = new List<(string Name, double Seconds, long CacheBytes)>();
        void Time(string name, GenerationOptions o)
        {
            var watch = Stopwatch.StartNew();
            var c = generator.Generate([prompt], o)[0];
            watch.Stop();
            if (c.Tokens.Count != tokens) throw new InvalidOperationException($"{name}: {c.Tokens.Count} tokens");
            long bytes = 0;
            if (o.UseCache)
                using (var cache = model.NewCache(1, null, promptLength + tokens, o.Depth, o.Cache))
                    bytes = CacheBytes(model, cache, promptLength + tokens, o);
            rows.Add((name, watch.Elapsed.TotalSeconds, bytes));
            Console.WriteLine($"  {name,-28} {tokens / watch.Elapsed.TotalSeconds,8:F1} tokens/s  ({watch.Elapsed.TotalSeconds:F2} s){(bytes > 0 ? $"  cache {bytes / 1048576.0:F1} MiB" : "")}");
        }
        Time("with cache (full)", baseOptions);
        Time("with cache, keep 2 of 8", baseOptions with { Cache = new KvCacheOptions { KeepIterations = 2 } });
        Time("with cache, keep 1 of 8", baseOptions with { Cache = new KvCacheOptions { KeepIterations = 1 } });
        Time("without cache (re-run all)", baseOptions with { UseCache = false });
        double speedup = rows[3].Seconds / rows[0].Seconds;
        Console.WriteLine($"cache speed-up at r = {r}: {speedup:F1}x");
        return 0;
    }

    /// <summary>The cache's size after a full run: one prefill of the whole sequence (same entries, same length).</summary>
    private static long CacheBytes(DeepenModel model, KvCache cache, int length, GenerationOptions o)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.Step(zeros(1, length, dtype: ScalarType.Int64), cache, o.Depth with { InitialState = StateInit.Zeros }, null);
        return cache.Bytes;
    }
}
