using System.Globalization;
using Deepen.Modeling;
using Deepen.Training;
using Deepen.Models;

namespace Deepen.Bench;

/// <summary>
/// One benchmarked training configuration: a (P, R, C) recurrent model of width <see cref="D"/>, a batch of
/// <see cref="Batch"/> × <see cref="Seq"/> random tokens, and a fixed recurrence of <see cref="NoGrad"/>
/// no-grad plus <see cref="Grad"/> grad iterations. The orchestrator passes it to both workers (Deepen and the
/// PyTorch peer) as the same command-line flags, so the two sides cannot disagree on the shape.
/// </summary>
public sealed record BenchShape(string Name, int Prelude, int Core, int Coda, int D, int Heads, int KvHeads, int Ffn, int Vocab,
                                int Batch, int Seq = 256, int NoGrad = 4, int Grad = 4, int Accum = 1)
{
    /// <summary>(2,4,2), d 256, 8 heads × 32, MHA, FFN 1024, vocab 4096: the model of the other benches.</summary>
    public static BenchShape Tiny(int batch) => new("tiny", 2, 4, 2, 256, 8, 8, 1024, 4096, batch);

    /// <summary>(2,4,2), d 512, 8 heads × 64 with 2 KV heads (GQA as in Llama), FFN 1536, vocab 8192.</summary>
    public static BenchShape Mid(int batch) => new("mid", 2, 4, 2, 512, 8, 2, 1536, 8192, batch);

    public int HeadDim => D / Heads;
    public int Recurrence => NoGrad + Grad;
    /// <summary>Tokens per optimizer step: <see cref="Accum"/> micro-batches of <see cref="Batch"/> × <see cref="Seq"/>.</summary>
    public long TokensPerStep => (long)Accum * Batch * Seq;

    /// <summary>Tokens per forward/backward pass (one micro-batch).</summary>
    public long TokensPerMicroBatch => (long)Batch * Seq;

    public string Describe() =>
        $"({Prelude},{Core},{Coda}) d={D}, {Heads} heads × {HeadDim}{(KvHeads != Heads ? $" / {KvHeads} KV heads" : "")}, FFN {Ffn}, vocab {Vocab}; " +
        $"batch {Batch} × seq {Seq}{(Accum > 1 ? $", {Accum} micro-batches per optimizer step ({TokensPerStep} tokens)" : "")}; recurrence n={NoGrad} no-grad + k={Grad} grad";

    public RecurrentConfig ToConfig() => new()
    {
        Block = new ModelConfig
        {
            ModelType = "llama", VocabSize = Vocab, HiddenSize = D, IntermediateSize = Ffn, NumLayers = Prelude + Core + Coda,
            NumHeads = Heads, NumKvHeads = KvHeads, HeadDim = HeadDim, RmsNormEps = 1e-5, RopeTheta = 10000,
            MaxPositionEmbeddings = Math.Max(2048, Seq),
        },
        PreludeLayers = Prelude, CoreLayers = Core, CodaLayers = Coda,
    };

    /// <summary>
    /// Training FLOPs per token: method.md §5.3 (<c>6·N1 + 2·N2</c> over the decoder layers, grad depth = k) plus the
    /// attention-score term, both from <see cref="FlopCounter"/>.
    /// </summary>
    public double TrainingFlopsPerToken()
    {
        long perLayer = ToConfig().Block.ParamsPerLayer;
        var counter = FlopCounter.Uniform(perLayer, Prelude, Core, Coda, gradDepth: Grad, attentionDim: (long)Heads * HeadDim);
        return counter.TrainingFlopsPerToken(Recurrence) + counter.AttentionTrainingFlopsPerToken(Recurrence, Seq);
    }

    /// <summary>The flags both workers read.</summary>
    public string[] ToArgs() =>
    [
        "--name", Name, "--prelude", I(Prelude), "--core", I(Core), "--coda", I(Coda), "--d", I(D), "--heads", I(Heads),
        "--kv-heads", I(KvHeads), "--ffn", I(Ffn), "--vocab", I(Vocab), "--batch", I(Batch), "--seq", I(Seq),
        "--n", I(NoGrad), "--k", I(Grad), "--accum", I(Accum),
    ];

    public static BenchShape FromArgs(string[] args)
    {
        int Get(string flag) => int.Parse(Measure.Arg(args, flag, "") is { Length: > 0 } v ? v : throw new ArgumentException($"missing {flag}"), CultureInfo.InvariantCulture);
        return new BenchShape(Measure.Arg(args, "--name", "custom"), Get("--prelude"), Get("--core"), Get("--coda"), Get("--d"), Get("--heads"),
            Get("--kv-heads"), Get("--ffn"), Get("--vocab"), Get("--batch"), Get("--seq"), Get("--n"), Get("--k"),
            int.Parse(Measure.Arg(args, "--accum", "1"), CultureInfo.InvariantCulture));
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
