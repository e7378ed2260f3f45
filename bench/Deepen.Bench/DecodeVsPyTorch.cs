using System.Diagnostics;
using System.Globalization;
using Deepen.Inference;
using Deepen.Modeling;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Bench;

/// <summary>
/// Cached greedy decoding, Deepen against a PyTorch 1.13 peer (<c>bench/peer/decode.py</c>) that runs the same (2,4,2)
/// recurrent model shape with the same per-iteration KV cache: tokens/s at r = 1 and r = 8, batch 1 and 8, a
/// 32-token prompt and 64 new tokens per row, float32, fresh state noise per token, the same thread count. Weights are
/// random on each side (speed, not token equality). Each figure is the median of <c>--repeats</c> timed runs after a
/// warm-up; every run includes its prompt's prefill.
/// </summary>
public static class DecodeVsPyTorch
{
    public static int Run(string[] args)
    {
        string A(string name, string fallback) => Measure.Arg(args, name, fallback);
        int threads = int.Parse(A("--threads", "1"), CultureInfo.InvariantCulture);
        int tokens = int.Parse(A("--tokens", "64"), CultureInfo.InvariantCulture);
        int promptLength = int.Parse(A("--prompt", "32"), CultureInfo.InvariantCulture);
        int repeats = int.Parse(A("--repeats", "3"), CultureInfo.InvariantCulture);
        var batches = A("--batches", "1,8").Split(',').Select(int.Parse).ToArray();
        var recurrences = A("--recurrences", "1,8").Split(',').Select(int.Parse).ToArray();
        string python = A("--python", "/usr/bin/python3");
        string peer = A("--peer", Path.Combine(ChildProcess.RepoRoot(), "bench", "peer", "decode.py"));
        set_num_threads(threads);

        var block = new ModelConfig
        {
            ModelType = "llama", VocabSize = 4096, HiddenSize = 256, IntermediateSize = 1024, NumLayers = 8,
            NumHeads = 8, NumKvHeads = 8, HeadDim = 32, RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = 2048,
        };
        using var recurrent = new RecurrentModel(new RecurrentConfig { Block = block, PreludeLayers = 2, CoreLayers = 4, CodaLayers = 2 });
        ModelInit.Normal(recurrent, 0.02, 0);
        recurrent.eval();
        using var model = DeepenModel.For(recurrent, "random-2-4-2-d256");
        var generator = new Deepen.Inference.Generator(model);
        var rng = new Random(1);
        Console.WriteLine($"model: random (2,4,2) d=256, 8 heads, FFN 1024, vocab 4096, float32; prompt {promptLength}, {tokens} new tokens per row, greedy, {threads} thread(s), median of {repeats}");

        var peerEnv = new Dictionary<string, string>();
        if (Directory.Exists(TrainVsPyTorch.OpenBlasOpenMp)) peerEnv["LD_LIBRARY_PATH"] = TrainVsPyTorch.OpenBlasOpenMp;
        var rows = new List<(int Batch, int R, double Deepen, double Peer)>();
        foreach (var r in recurrences)
            foreach (var batch in batches)
            {
                var prompts = Enumerable.Range(0, batch).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, promptLength).Select(_ => rng.Next(3, 4096)).ToArray()).ToList();
                var options = new GenerationOptions { MaxNewTokens = tokens, StopAtEos = false, Depth = DepthOptions.Fixed(r), Seed = 5 };
                generator.Generate(prompts, options with { MaxNewTokens = 4 });                               // warm-up
                var times = new List<double>();
                for (int i = 0; i < repeats; i++)
                {
                    var clock = Stopwatch.StartNew();
                    var done = generator.Generate(prompts, options);
                    times.Add(clock.Elapsed.TotalSeconds);
                    if (done.Any(c => c.Tokens.Count != tokens)) throw new InvalidOperationException("a row stopped early");
                }
                double deepen = batch * tokens / Median(times);
                var peerRuns = ChildProcess.Run(python, [peer, "--batch", $"{batch}", "--r", $"{r}", "--prompt", $"{promptLength}", "--tokens", $"{tokens}",
                    "--threads", $"{threads}", "--repeats", $"{repeats}"], peerEnv);
                double peerRate = batch * tokens / Median(peerRuns.Select(o => o["s"]!.GetValue<double>()).ToList());
                rows.Add((batch, r, deepen, peerRate));
                Console.WriteLine($"  batch {batch}, r = {r}: Deepen {deepen:F1} tokens/s, PyTorch {peerRate:F1} tokens/s, ratio {deepen / peerRate:F2}");
            }
        Console.WriteLine();
        Console.WriteLine("| batch | r | Deepen (tokens/s) | PyTorch 1.13 (tokens/s) | Deepen / PyTorch |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var (b, r, d, p) in rows) Console.WriteLine($"| {b} | {r} | {d:F1} | {p:F1} | {d / p:F2}× |");
        return 0;
    }

    private static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
