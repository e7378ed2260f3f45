using System.Diagnostics;
using System.Text.Json.Nodes;
using Deepen.Inference;
using Deepen.Modeling;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Bench;

/// <summary>
/// Inference speed of the tiny benchmark model (random weights, float32) at a fixed recurrence with the KV cache:
/// prefill (one <see cref="DeepenModel.Step"/> over a <c>--prefill</c>-token prompt into a fresh cache) and decode
/// (one token per step after a 32-token prompt, <c>--tokens</c> steps, greedy), each repeated and reduced to the
/// median. Run as a child process; prints one JSON line.
/// </summary>
public static class DecodePrefill
{
    public static int Run(string[] args)
    {
        int threads = int.Parse(Measure.Arg(args, "--threads", "2")), r = int.Parse(Measure.Arg(args, "--recurrence", "8"));
        int prefill = int.Parse(Measure.Arg(args, "--prefill", "256")), tokens = int.Parse(Measure.Arg(args, "--tokens", "128"));
        int reps = int.Parse(Measure.Arg(args, "--reps", "3"));
        set_num_threads(threads);
        var shape = BenchShape.Tiny(1);
        using var recurrent = new RecurrentModel(shape.ToConfig());
        ModelInit.Normal(recurrent, 0.02, 0);
        recurrent.eval();
        using var model = DeepenModel.For(recurrent, "random-tiny");
        var depth = DepthOptions.Fixed(r);
        using var noise = new TorchSharp.torch.Generator(5);
        using var data = new TorchSharp.torch.Generator(1);
        using var prompt = randint(3, shape.Vocab, [1, prefill], dtype: ScalarType.Int64, generator: data);   // (1, P)

        double Prefill()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var cache = model.NewCache(1, null, prefill, depth);
            var watch = Stopwatch.StartNew();
            model.Step(prompt, cache, depth, noise).Logits.argmax(-1).item<long>();
            return watch.Elapsed.TotalSeconds;
        }

        double Decode()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            const int start = 32;
            using var cache = model.NewCache(1, null, start + tokens, depth);
            long next = model.Step(prompt.narrow(1, 0, start), cache, depth, noise).Logits.argmax(-1).item<long>();
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < tokens; i++)
            {
                using var step = NewDisposeScope();
                next = model.Step(tensor(new[] { next }).view(1, 1), cache, depth, noise).Logits.argmax(-1).item<long>();
            }
            return watch.Elapsed.TotalSeconds;
        }

        Prefill(); Decode();   // warm-up
        var prefillS = Enumerable.Range(0, reps).Select(_ => Prefill()).ToList();
        var decodeS = Enumerable.Range(0, reps).Select(_ => Decode()).ToList();
        Console.WriteLine(new JsonObject
        {
            ["recurrence"] = r, ["threads"] = get_num_threads(), ["prefill_tokens"] = prefill, ["decode_tokens"] = tokens,
            ["prefill_tokens_per_s"] = prefill / Stats.Median(prefillS), ["decode_tokens_per_s"] = tokens / Stats.Median(decodeS),
            ["peak_rss_mib"] = Measure.PeakRssMiB(),
        }.ToJsonString());
        return 0;
    }
}
