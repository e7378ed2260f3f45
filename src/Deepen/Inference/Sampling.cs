using System.Globalization;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;
using Deepen.Torch;

namespace Deepen.Inference;

/// <summary>
/// How the next token is chosen from the logits, applied in Hugging Face's order: repetition penalty, then
/// temperature, top-k, top-p, min-p, then a draw. Temperature 0 is greedy (argmax after the repetition penalty).
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Greedy decoding.</summary>
    public static SamplingOptions Greedy { get; } = new();

    /// <summary>Softmax temperature; 0 (the default) means greedy.</summary>
    public double Temperature { get; init; }

    /// <summary>Keep only the k most likely tokens; 0 = off.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p (nucleus); 1 = off.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Drop tokens less likely than min-p × the most likely token's probability; 0 = off.</summary>
    public double MinP { get; init; }

    /// <summary>CTRL's repetition penalty on tokens already in the row (prompt included): positive logits divided, negative multiplied; 1 = off.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Whether this is greedy decoding.</summary>
    public bool IsGreedy => Temperature == 0;

    /// <summary>Throws a <see cref="DeepenException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        static string F(double v) => v.ToString("G", CultureInfo.InvariantCulture);
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new DeepenException($"temperature {F(Temperature)}: expected a finite number ≥ 0 (0 = greedy).");
        if (TopK < 0) throw new DeepenException($"top-k {TopK}: expected an integer ≥ 0 (0 = off).");
        if (!(TopP > 0 && TopP <= 1)) throw new DeepenException($"top-p {F(TopP)}: expected a number in (0, 1] (1 = off).");
        if (!(MinP >= 0 && MinP <= 1)) throw new DeepenException($"min-p {F(MinP)}: expected a number in [0, 1] (0 = off).");
        if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty))
            throw new DeepenException($"repetition-penalty {F(RepetitionPenalty)}: expected a finite number > 0 (1 = off).");
    }
}

/// <summary>Picks next tokens from logits according to <see cref="SamplingOptions"/>.</summary>
public static class Sampler
{
    /// <summary>
    /// The processed logits (B, V) float32: ids at or beyond <paramref name="allowedVocab"/> get −∞, the repetition
    /// penalty applies to each row's <paramref name="history"/>, then (unless greedy) temperature, top-k, top-p, min-p.
    /// </summary>
    public static Tensor Process(Tensor logits, SamplingOptions options, IReadOnlyList<IReadOnlyList<int>>? history = null, int? allowedVocab = null)
    {
        var x = logits.to_type(ScalarType.Float32).clone();                               // (B, V)
        long vocab = x.shape[1];
        if (allowedVocab is int n && n < vocab) x.narrow(1, n, vocab - n).fill_(Scalars.NegativeInfinity);
        if (options.RepetitionPenalty != 1.0 && history is not null) Penalize(x, history, options.RepetitionPenalty);
        if (options.IsGreedy) return x;
        x = x.DividedBy(options.Temperature);
        if (options.TopK > 0 && options.TopK < vocab)
        {
            var kth = x.topk(options.TopK, dim: -1).values.narrow(-1, options.TopK - 1, 1);   // (B, 1)
            x = x.MaskedToNegativeInfinity(x < kth);
        }
        if (options.TopP < 1.0)
        {
            var (sorted, order) = x.sort(-1, descending: true);                               // (B, V)
            var probs = sorted.softmax(-1);
            var before = probs.cumsum(-1) - probs;                                            // mass strictly before each token
            var drop = before.GreaterThan(options.TopP);                                                 // the first token is always kept
            x = x.scatter(-1, order, sorted.MaskedToNegativeInfinity(drop));
        }
        if (options.MinP > 0)
        {
            var probs = x.softmax(-1);
            var floor = probs.max(-1, keepdim: true).values.Times(options.MinP);                   // (B, 1)
            x = x.MaskedToNegativeInfinity(probs < floor);
        }
        return x;
    }

    /// <summary>
    /// Next ids (B,): argmax when greedy, else a draw from softmax(processed logits) with <paramref name="generator"/>.
    /// On the CPU the draw is <c>multinomial</c> with the CPU generator; on another device the probabilities stay there
    /// and only B uniforms come from the generator (<see cref="DrawOnDevice"/>), instead of copying (B, V) to the host
    /// each token. Both are exact draws from the same distribution; for one seed they pick different tokens.
    /// </summary>
    public static long[] Choose(Tensor processed, SamplingOptions options, TorchGenerator? generator)
    {
        var ids = options.IsGreedy
            ? processed.argmax(-1)
            : processed.device.type == TorchSharp.DeviceType.CPU
                ? processed.softmax(-1).multinomial(1, generator: generator).squeeze(1)
                : DrawOnDevice(processed.softmax(-1), generator);
        return ids.to_type(ScalarType.Int64).cpu().data<long>().ToArray();
    }

    /// <summary>
    /// Inverse-CDF draws from the rows of <paramref name="probs"/> (B, V) where they lie: u ~ U[0, 1) per row from the
    /// (host) generator, the id is the first whose cumulative probability exceeds u. Returns (B,) int64.
    /// </summary>
    public static Tensor DrawOnDevice(Tensor probs, TorchGenerator? generator)
    {
        using var scope = NewDisposeScope();
        using TorchSharp.Scalar last = probs.shape[^1] - 1;                                                        // held: no temporary Scalar
        var cdf = probs.to_type(ScalarType.Float32).cumsum(-1);                                       // (B, V)
        var u = rand([probs.shape[0], 1], dtype: ScalarType.Float32, generator: generator)            // host: the caller's CPU generator
            .to(probs.device).mul_(cdf[.., ^1..]);                                                      // (B, 1), scaled to the row's total
        var ids = searchsorted(cdf, u, right: true).squeeze(1).clamp_max(last);                         // (B,)
        return ids.MoveToOuterDisposeScope();
    }

    private static void Penalize(Tensor x, IReadOnlyList<IReadOnlyList<int>> history, double penalty)
    {
        for (int b = 0; b < history.Count; b++)
        {
            if (history[b].Count == 0) continue;
            var seen = tensor(history[b].Distinct().Select(i => (long)i).ToArray(), device: x.device);   // (S,)
            var row = x[b];                                                                                // (V,) view
            var g = row.index_select(0, seen);
            row.index_copy_(0, seen, where(g.GreaterThan(0), g.DividedBy(penalty), g.Times(penalty)));
        }
    }
}
