using System.Diagnostics;
using System.Text;
using Deepen.Checkpoints;
using Deepen.Data;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tokenization;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Bench;

/// <summary>
/// What the memory-saving KV cache costs in quality. A random model says nothing here (its next-token distributions
/// are nearly uniform), so by default this trains a small byte-level recurrent model for a few hundred steps on the
/// shared corpus (or synthetic math text when the corpus is absent), with the recurrence sampled per step. Then, on
/// held-out text, it decodes teacher-forced through the cache at r = 8: full cache vs keeping m ∈ {4, 2, 1} iterations
/// per core layer, with the same per-token noise, and reports the log-loss, the KL from the full cache's next-token
/// distribution, and top-1 agreement. <c>--model DIR --text FILE</c> measures a given recurrent checkpoint instead
/// (text is then tokenized with the model's tokenizer).
/// </summary>
public static class KvKeepQuality
{
    public static int Run(string[] args)
    {
        set_num_threads(int.Parse(Measure.Arg(args, "--threads", "1")));
        int r = int.Parse(Measure.Arg(args, "--recurrence", "8"));
        int steps = int.Parse(Measure.Arg(args, "--train-steps", "1000"));
        var modelDir = Measure.Arg(args, "--model", "");
        int[] ids;
        RecurrentModel recurrent;
        if (modelDir.Length > 0)
        {
            recurrent = RecurrentCheckpoint.Load(modelDir);
            using var tok = TextTokenizer.FromDirectory(modelDir);
            ids = tok.Encode(File.ReadAllText(Measure.Arg(args, "--text", "")), addSpecialTokens: false);
            Console.WriteLine($"model {modelDir}; {ids.Length} tokens of text");
        }
        else
        {
            var bytes = Encoding.UTF8.GetBytes(Corpus(out var source));
            ids = bytes.Select(b => (int)b).ToArray();
            Console.WriteLine($"training a byte-level (1,2,1) d=128 recurrent model for {steps} steps on {source} ({ids.Length} bytes; last 10% held out)");
            recurrent = Train(ids[..(ids.Length * 9 / 10)], steps);
        }
        using var _ = recurrent;
        using var model = DeepenModel.For(recurrent);
        var heldOut = ids[(ids.Length * 9 / 10)..];
        const int sequences = 6, prompt = 32, decode = 128;
        Console.WriteLine($"held-out: {sequences} sequences × ({prompt} prompt + {decode} teacher-forced tokens), r = {r}, fresh noise per token (same seed in every mode)");
        var full = Decode(model, heldOut, sequences, prompt, decode, r, null);
        var shallow = Decode(model, heldOut, sequences, prompt, decode, 1, null);
        Console.WriteLine($"for scale: log-loss at r = 1 is {shallow.Average(x => x.Nll):F4}, at r = {r} {full.Average(x => x.Nll):F4}; "
                          + $"KL(r = {r} ‖ r = 1) {full.Zip(shallow).Average(x => Kl(x.First.LogProbs, x.Second.LogProbs)):F4}");
        Console.WriteLine($"{"cache",-16} {"log-loss (nats/token)",22} {"KL(full ‖ mode)",16} {"top-1 agrees",13} {"core entries",13}");
        Console.WriteLine($"{"full (8 of 8)",-16} {full.Average(x => x.Nll),22:F4} {0.0,16:F5} {"100.0%",13} {r,13}");
        foreach (int m in new[] { 4, 2, 1 })
        {
            var approx = Decode(model, heldOut, sequences, prompt, decode, r, m);
            double kl = full.Zip(approx).Average(x => Kl(x.First.LogProbs, x.Second.LogProbs));
            double agree = full.Zip(approx).Average(x => x.First.Top == x.Second.Top ? 1.0 : 0.0);
            Console.WriteLine($"{$"keep {m} of {r}",-16} {approx.Average(x => x.Nll),22:F4} {kl,16:F5} {agree,12:P1} {m,13}");
        }
        return 0;
    }

    private static string Corpus(out string source)
    {
        var path = "/work/shared/data/corpus/austen.txt";
        if (File.Exists(path))
        {
            source = path + " (first 400 kB)";
            var text = File.ReadAllText(path);
            return text[..Math.Min(text.Length, 400_000)];
        }
        source = "synthetic math problems";
        return string.Join("\n", SyntheticMath.Generate(new SyntheticMathOptions { Count = 3000, Seed = 1 }).Select(p => p.Question + "\n" + p.Answer));
    }

    private static RecurrentModel Train(int[] data, int steps)
    {
        var block = new ModelConfig
        {
            ModelType = "llama", VocabSize = 256, HiddenSize = 128, IntermediateSize = 256, NumLayers = 4,
            NumHeads = 4, NumKvHeads = 4, HeadDim = 32, RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = 512,
        };
        var model = new RecurrentModel(new RecurrentConfig { Block = block, PreludeLayers = 1, CoreLayers = 2, CodaLayers = 1, MeanRecurrence = 8 });
        ModelInit.Normal(model, 0.02, 0);
        using var optimizer = optim.AdamW(model.parameters(), lr: 3e-3, weight_decay: 0.01);
        var rng = new Random(0);
        using var noise = new TorchSharp.torch.Generator(1);
        const int batch = 8, seq = 128;
        var watch = Stopwatch.StartNew();
        for (int step = 1; step <= steps; step++)
        {
            using var scope = NewDisposeScope();
            var rows = new long[batch * (seq + 1)];
            for (int b = 0; b < batch; b++)
            {
                int start = rng.Next(data.Length - seq - 1);
                for (int t = 0; t <= seq; t++) rows[b * (seq + 1) + t] = data[start + t];
            }
            var all = tensor(rows, [batch, seq + 1], ScalarType.Int64);
            int r = rng.Next(1, 9);                                // the recurrence varies per step (1..8), as in training
            var logits = model.forward(all[.., ..seq], new RecurrenceOptions(r, GradSteps: Math.Min(r, 4), Generator: noise));
            var loss = nn.functional.cross_entropy(logits.reshape(-1, 256), all[.., 1..].reshape(-1));
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
            if (step % 50 == 0 || step == steps)
                Console.WriteLine($"  step {step}: loss {loss.item<float>():F3} (r = {r}), {watch.Elapsed.TotalSeconds:F0} s");
        }
        model.eval();
        return model;
    }

    private sealed record Position(double Nll, float[] LogProbs, int Top);

    private static List<Position> Decode(DeepenModel model, int[] text, int sequences, int prompt, int decode, int r, int? keep)
    {
        var result = new List<Position>();
        var depth = DepthOptions.Fixed(r);
        int stride = (text.Length - prompt - decode - 1) / sequences;
        for (int s = 0; s < sequences; s++)
        {
            var window = text.Skip(s * stride).Take(prompt + decode + 1).ToArray();
            using var noise = new TorchSharp.torch.Generator(42 + (ulong)s);
            using var cache = model.NewCache(1, null, prompt + decode, depth, new KvCacheOptions { KeepIterations = keep });
            using var noGrad = no_grad();
            Tensor Step(IEnumerable<int> ids)
            {
                var t = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
                return model.Step(t, cache, depth, noise).Logits[0].log_softmax(-1);     // (V,)
            }
            using (var scope = NewDisposeScope())
            {
                var logp = Step(window[..prompt]);
                for (int i = 0; i < decode; i++)
                {
                    int target = window[prompt + i];
                    var values = logp.data<float>().ToArray();
                    result.Add(new Position(-values[target], values, Array.IndexOf(values, values.Max())));
                    if (i < decode - 1) logp = Step([target]);
                }
            }
        }
        return result;
    }

    private static double Kl(float[] p, float[] q)
    {
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += Math.Exp(p[i]) * (p[i] - q[i]);
        return sum;
    }
}
