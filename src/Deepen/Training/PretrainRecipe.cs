using System.Diagnostics;
using System.Globalization;
using System.Text;
using Deepen.Checkpoints;
using Deepen.Data;
using Deepen.Inference;
using Deepen.Modeling;
using static TorchSharp.torch;

namespace Deepen.Training;

/// <summary>What <c>deepen pretrain</c> builds besides the training settings: tokenizer, data mix, architecture, where to ship.</summary>
public sealed record PretrainOptions
{
    /// <summary>Prose: text files or folders of .txt (the tokenizer is trained on these alone).</summary>
    public required IReadOnlyList<string> Corpus { get; init; }
    public int VocabSize { get; init; } = 4096;
    public long TokenizerMaxBytes { get; init; } = 8_000_000;
    /// <summary>Synthetic word problems mixed into the training text (train split, worked steps).</summary>
    public int MathCount { get; init; } = 12_000;
    public IReadOnlyList<int> MathOps { get; init; } = [1, 2, 3, 4, 5, 6, 7, 8];
    public ulong MathSeed { get; init; } = 1;
    /// <summary>Chains of operations modulo 10 (<see cref="ModChain"/>, train split) mixed into the training text; 0 = none.</summary>
    public int ChainCount { get; init; }
    public IReadOnlyList<int> ChainOps { get; init; } = [1, 2, 3, 4, 5, 6, 7, 8];
    public ulong ChainSeed { get; init; } = 3;
    /// <summary>The architecture; its vocabulary, BOS and EOS come from the trained tokenizer.</summary>
    public required ModelConfig Shape { get; init; }
    public long InitSeed { get; init; }
    /// <summary>Where the finished model goes (HF layout, BF16, tokenizer, model card).</summary>
    public required string ShipTo { get; init; }
    /// <summary>The training settings; <c>model</c> and <c>train_data</c> are filled in by the recipe.</summary>
    public required TrainConfig Train { get; init; }
    public string? CommandLine { get; init; }
    public Action<string> Log { get; init; } = Console.WriteLine;
    /// <summary>Training progress (step, max_steps), for a progress bar.</summary>
    public Action<long, long>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
}

/// <summary>
/// Pretrains a small plain Llama from scratch, reproducibly from the repository and ../shared/data:
/// (1) a byte-level BPE tokenizer on the prose, (2) synthetic word problems, (3) token shards of both
/// with held-out splits, (4) a random model, (5) the trainer of "Training", (6) the model shipped in BF16
/// with a model card giving the held-out losses on prose and on math and sample generations. Every
/// stage's output lives in the run directory and is reused when the command is run again.
/// </summary>
public static class PretrainRecipe
{
    public static TrainResult Run(PretrainOptions o)
    {
        var clock = Stopwatch.StartNew();
        var work = o.Train.Out;
        if (string.IsNullOrEmpty(work)) throw new DeepenException("out: give the pretraining run directory.");
        foreach (var c in o.Corpus)
            if (!File.Exists(c) && !Directory.Exists(c)) throw new DeepenException($"--corpus {c}: not found (the default is ../shared/data/corpus).");
        Directory.CreateDirectory(work);

        var tokDir = Path.Combine(work, "tokenizer");
        if (!File.Exists(Path.Combine(tokDir, "tokenizer.json")))
        {
            o.Log($"[1/6] tokenizer: BPE, vocabulary {o.VocabSize}, on {string.Join(", ", o.Corpus)}");
            var texts = CorpusSample.Read(o.Corpus, o.TokenizerMaxBytes);
            var bpe = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = o.VocabSize }, o.Log);
            AtomicDirectory.Write(tokDir, overwrite: true, tmp => HfTokenizerFiles.Save(bpe, tmp, new HfTokenizerFileOptions { ModelMaxLength = o.Shape.MaxPositionEmbeddings }));
        }

        var mathFile = Path.Combine(work, "math-train.jsonl");
        if (!File.Exists(mathFile))
        {
            o.Log($"[2/6] synthetic math: {o.MathCount} problems, ops {string.Join(",", o.MathOps)}, seed {o.MathSeed}");
            SyntheticMath.WriteJsonl(mathFile, SyntheticMath.Generate(new SyntheticMathOptions { Count = o.MathCount, Ops = o.MathOps, Seed = o.MathSeed }));
        }

        var chainFile = Path.Combine(work, "chain-train.jsonl");
        if (o.ChainCount > 0 && !File.Exists(chainFile))
        {
            o.Log($"[2/6] chains mod 10: {o.ChainCount} problems, ops {string.Join(",", o.ChainOps)}, seed {o.ChainSeed}");
            ModChain.WriteJsonl(chainFile, ModChain.Generate(new ModChainOptions { Count = o.ChainCount, Ops = o.ChainOps, Seed = o.ChainSeed, Distinct = false }));
        }

        string proseData = Path.Combine(work, "data", "prose"), mathData = Path.Combine(work, "data", "math"), chainData = Path.Combine(work, "data", "chain");
        using (var tok = TextTokenizer.FromDirectory(tokDir))
        {
            Prepare(proseData, o.Corpus, DocumentSplit.Paragraph, o, tok, "[3/6] prose");
            Prepare(mathData, [mathFile], DocumentSplit.File, o, tok, "[3/6] math");
            if (o.ChainCount > 0) Prepare(chainData, [chainFile], DocumentSplit.File, o, tok, "[3/6] chains");
        }
        var parts = o.ChainCount > 0 ? new[] { proseData, mathData, chainData } : [proseData, mathData];

        var init = Path.Combine(work, "init");
        if (!File.Exists(Path.Combine(init, HfConfig.FileName)))
        {
            var made = ModelFactory.CreatePlain(o.Shape, tokDir, init, o.InitSeed);
            o.Log($"[4/6] random model: {made.NumLayers} layers, d {made.HiddenSize}, heads {made.NumHeads}/{made.NumKvHeads}, FFN {made.IntermediateSize}, vocab {made.VocabSize}");
        }

        var train = o.Train with
        {
            Model = init,
            TrainData = parts.Select(d => Path.Combine(d, DataPreparer.TrainFile)).ToList(),
            ValData = parts.Select(d => Path.Combine(d, DataPreparer.ValFile)).ToList(),
            Curriculum = "none",
        };
        o.Log("[5/6] training");
        bool resume = new CheckpointManager(work, train.KeepLast).Complete().Count > 0;
        var result = Trainer.Run(train, new TrainRunOptions { Log = o.Log, Progress = o.Progress, Cancel = o.Cancel, Resume = resume ? "auto" : null, CommandLine = o.CommandLine });
        if (result.Stopped) return result;

        o.Log($"[6/6] shipping {o.ShipTo}");
        Ship(result.FinalDir, o, proseData, mathData, clock.Elapsed);
        return result with { FinalDir = Path.GetFullPath(o.ShipTo) };
    }

    private static void Prepare(string dir, IReadOnlyList<string> inputs, DocumentSplit split, PretrainOptions o, TextTokenizer tok, string what)
    {
        if (File.Exists(Path.Combine(dir, DataPreparer.ManifestFile))) return;
        o.Log($"{what}: tokenizing {string.Join(", ", inputs)} into rows of {o.Train.SeqLen + 1}");
        DataPreparer.Prepare(new DataPrepareOptions
        {
            Inputs = inputs, OutDir = dir, SeqLen = o.Train.SeqLen, Sources = new DocumentSourceOptions(DocSplit: split),
            HoldoutFraction = 0.02, Seed = o.Train.Seed, Log = o.Log,
        }, tok);
    }

    private static void Ship(string finalDir, PretrainOptions o, string proseData, string mathData, TimeSpan elapsed)
    {
        using var model = HfModel.Load(finalDir, ScalarType.Float32);
        var trainable = new PlainTrainable(model, HfConfig.ReadJson(finalDir));
        double Held(string data) => Validation.Run(trainable, [Path.Combine(data, DataPreparer.ValFile)], [1], 8, 0, o.Train.Seed, null, null).Values.Single().Loss;
        double prose = Held(proseData), math = Held(mathData);
        using var tok = TextTokenizer.FromDirectory(finalDir);
        var prompts = new[]
        {
            "It is a truth universally acknowledged",
            "The State of the Union",
            "Question: Mia has 12 apples. She buys 7 more. How many apples does Mia have now?\nAnswer:",
        };
        using var inference = InferenceModel.For(model, "tiny-base");
        var generator = new Deepen.Inference.Generator(inference, tok);
        var samples = prompts.Select(p => (p, generator.Generate([p], new GenerationOptions { MaxNewTokens = 48 }).Single().Text)).ToList();
        long parameters = model.parameters().Sum(p => p.numel());
        AtomicDirectory.Write(o.ShipTo, overwrite: true, tmp =>
        {
            trainable.WriteInto(tmp, ScalarType.BFloat16);
            RecurrentCheckpoint.CopyCompanions(finalDir, tmp);
            File.WriteAllText(Path.Combine(tmp, "README.md"), ModelCard(o, model.Config, parameters, prose, math, samples, elapsed));
        });
        o.Log($"held-out loss: prose {prose:F3}, math {math:F3} (nats/token)");
    }

    private static string ModelCard(PretrainOptions o, ModelConfig c, long parameters, double prose, double math,
        IReadOnlyList<(string Prompt, string Completion)> samples, TimeSpan elapsed)
    {
        var t = o.Train;
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# tiny-base: Deepen's own small base model");
        sb.AppendLine();
        sb.AppendLine("A plain Llama pretrained from scratch by Deepen on public-domain English prose mixed with synthetic");
        sb.AppendLine("grade-school word problems, so that the retrofitted-recurrence method can be shown end to end offline.");
        sb.AppendLine("It is a small model trained briefly on a few million tokens: fluent-ish locally, not knowledgeable.");
        sb.AppendLine();
        sb.AppendLine("## How it was made");
        sb.AppendLine();
        sb.AppendLine("```");
        sb.AppendLine(o.CommandLine ?? "deepen pretrain --config configs/tiny-base.yaml");
        sb.AppendLine("```");
        sb.AppendLine();
        sb.AppendLine($"- Tokenizer: byte-level BPE, vocabulary {c.VocabSize}, digits split one per token, trained by `deepen tokenizer train` on {string.Join(", ", o.Corpus.Select(Path.GetFileName))} (at most {o.TokenizerMaxBytes:N0} bytes).");
        sb.AppendLine($"- Data: the prose corpus (`../shared/data/corpus`: State of the Union addresses, the Brown corpus, Austen, Moby-Dick; public domain or redistributable) split into paragraphs, plus {o.MathCount:N0} synthetic word problems (`deepen data synth-math`, train split, worked steps, {o.MathOps.Min()}–{o.MathOps.Max()} operations, seed {o.MathSeed}) as `Question: …\\nAnswer: …` text; packed into rows of {t.SeqLen + 1} tokens; 2 % of rows of each held out.");
        sb.AppendLine($"- Architecture: Llama, {c.NumLayers} layers, d {c.HiddenSize}, {c.NumHeads} query / {c.NumKvHeads} KV heads (head_dim {c.HeadDim}), SwiGLU FFN {c.IntermediateSize}, RMSNorm, rope θ {c.RopeTheta.ToString(inv)}, context {c.MaxPositionEmbeddings}, untied embeddings; {parameters:N0} parameters.");
        sb.AppendLine($"- Training: {t.MaxSteps} steps × {t.MicroBatchSize * t.GradAccumSteps} sequences × {t.SeqLen} tokens = {(long)t.MaxSteps * t.MicroBatchSize * t.GradAccumSteps * t.SeqLen:N0} tokens; {t.Optimizer} (lr {t.Lr.ToString(inv)}{(t.Optimizer == "muon" ? $", Muon lr {t.MuonLr.ToString(inv)}" : "")}), WSD schedule (warmup {t.Warmup.ToString(inv)}, cooldown {t.Cooldown.ToString(inv)}), {t.Precision}, seed {t.Seed}; {elapsed.TotalMinutes:F0} min on 2 CPU cores.");
        sb.AppendLine("- Weights: BF16 safetensors in HF layout (`config.json`, `model.safetensors`, `tokenizer.json`).");
        sb.AppendLine();
        sb.AppendLine("## Held-out loss");
        sb.AppendLine();
        sb.AppendLine("| held-out split | loss (nats/token) | perplexity |");
        sb.AppendLine("|---|---|---|");
        sb.AppendLine($"| prose | {prose:F3} | {Math.Exp(prose):F1} |");
        sb.AppendLine($"| synthetic math | {math:F3} | {Math.Exp(math):F2} |");
        sb.AppendLine();
        sb.AppendLine("## Sample generations (greedy, 48 new tokens)");
        sb.AppendLine();
        foreach (var (p, completion) in samples)
        {
            sb.AppendLine("```");
            sb.Append(p).Append("⟨").Append(completion).AppendLine("⟩");
            sb.AppendLine("```");
            sb.AppendLine();
        }
        sb.AppendLine("⟨…⟩ marks the model's continuation.");
        return sb.ToString();
    }
}
