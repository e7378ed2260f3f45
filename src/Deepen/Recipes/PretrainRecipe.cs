using System.Diagnostics;
using System.Globalization;
using System.Text;
using Deepen.Checkpoints;
using Deepen.Data;
using Deepen.Evaluation;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tokenization;
using Deepen.Training;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Recipes;

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
    /// <summary>The fraction of chains shown with worked steps (the one-step operation as text).</summary>
    public double ChainWorkedFraction { get; init; }
    /// <summary>Variable look-ups several hops deep (<see cref="VariableHops"/>, train split) mixed into the training text; 0 = none.</summary>
    public int HopCount { get; init; }
    public IReadOnlyList<int> HopHops { get; init; } = [1, 2, 3, 4];
    public int HopChains { get; init; } = 3;
    public ulong HopSeed { get; init; } = 5;
    /// <summary>The fraction of look-ups shown with their hops written out (the one-hop look-up as text).</summary>
    public double HopWorkedFraction { get; init; }
    /// <summary>The fraction of the direct look-ups that ask every chain's head (<see cref="VariableHopsOptions.AskAllFraction"/>).</summary>
    public double HopAskAllFraction { get; init; }
    /// <summary>A directory with a <c>tokenizer.json</c> (e.g. a shipped model) whose tokenizer a model trained from scratch uses
    /// instead of one trained on the prose; null = train one (needs <see cref="Corpus"/>).</summary>
    public string? Tokenizer { get; init; }
    /// <summary>A plain HF model to continue instead of a random init (its tokenizer is used; no tokenizer is trained).</summary>
    public string? InitFrom { get; init; }
    /// <summary>Fraction of each part's rows held out for validation.</summary>
    public double HoldoutFraction { get; init; } = 0.02;
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
            if (!File.Exists(c) && !Directory.Exists(c)) throw DeepenException.BadSetting("corpus", $"{c}: not found (the default is ../shared/data/corpus).");
        if (o.InitFrom is not null && !File.Exists(Path.Combine(o.InitFrom, HfConfig.FileName)))
            throw new DeepenException($"pretrain.init_from: {o.InitFrom} has no {HfConfig.FileName}; expected a plain HF model directory to continue from.");
        if (o.Corpus.Count == 0 && o.MathCount == 0 && o.ChainCount == 0 && o.HopCount == 0)
            throw new DeepenException("pretrain: no data; give a corpus, math_count, chain_count or hop_count.");
        if (o.InitFrom is not null && o.Tokenizer is not null)
            throw new DeepenException("pretrain.tokenizer: a continued model (init_from) keeps its own tokenizer; give one of the two.");
        if (o.Tokenizer is not null && !File.Exists(Path.Combine(o.Tokenizer, "tokenizer.json")))
            throw new DeepenException($"pretrain.tokenizer: {o.Tokenizer} has no tokenizer.json; expected a model or tokenizer directory.");
        if (o.InitFrom is null && o.Tokenizer is null && o.Corpus.Count == 0)
            throw new DeepenException("pretrain.corpus: empty; a model trained from scratch needs prose for its tokenizer (or give pretrain.tokenizer, or continue a model with init_from).");
        Directory.CreateDirectory(work);

        // (1) the tokenizer: trained on the prose, or the one given, or the one of the model being continued
        var tokDir = o.InitFrom ?? o.Tokenizer ?? Path.Combine(work, "tokenizer");
        if (o.InitFrom is null && o.Tokenizer is null && !File.Exists(Path.Combine(tokDir, "tokenizer.json")))
        {
            o.Log($"[1/6] tokenizer: BPE, vocabulary {o.VocabSize}, on {string.Join(", ", o.Corpus)}");
            var texts = CorpusSample.Read(o.Corpus, o.TokenizerMaxBytes);
            var bpe = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = o.VocabSize }, o.Log);
            AtomicDirectory.Write(tokDir, overwrite: true, tmp => HfTokenizerFiles.Save(bpe, tmp, new HfTokenizerFileOptions { ModelMaxLength = o.Shape.MaxPositionEmbeddings }));
        }

        // (2) synthetic problems
        var mathFile = Path.Combine(work, "math-train.jsonl");
        if (o.MathCount > 0 && !File.Exists(mathFile))
        {
            o.Log($"[2/6] synthetic math: {o.MathCount} problems, ops {string.Join(",", o.MathOps)}, seed {o.MathSeed}");
            SyntheticMath.WriteJsonl(mathFile, SyntheticMath.Generate(new SyntheticMathOptions { Count = o.MathCount, Ops = o.MathOps, Seed = o.MathSeed }));
        }
        var chainFile = Path.Combine(work, "chain-train.jsonl");
        if (o.ChainCount > 0 && !File.Exists(chainFile))
        {
            o.Log($"[2/6] chains mod 10: {o.ChainCount} problems, ops {string.Join(",", o.ChainOps)}, {o.ChainWorkedFraction:P0} with worked steps, seed {o.ChainSeed}");
            ModChain.WriteJsonl(chainFile, ModChain.Generate(new ModChainOptions
            {
                Count = o.ChainCount, Ops = o.ChainOps, Seed = o.ChainSeed, Distinct = false, WorkedFraction = o.ChainWorkedFraction,
            }));
        }

        var hopFile = Path.Combine(work, "hop-train.jsonl");
        if (o.HopCount > 0 && !File.Exists(hopFile))
        {
            o.Log($"[2/6] variable hops: {o.HopCount} problems, hops {string.Join(",", o.HopHops)}, {o.HopChains} chains, {o.HopWorkedFraction:P0} with the hops written out, {o.HopAskAllFraction:P0} of the rest asking every chain, seed {o.HopSeed}");
            ModChain.WriteJsonl(hopFile, VariableHops.Generate(new VariableHopsOptions
            {
                Count = o.HopCount, Hops = o.HopHops, Chains = o.HopChains, Seed = o.HopSeed, WorkedFraction = o.HopWorkedFraction, AskAllFraction = o.HopAskAllFraction,
            }));
        }

        // (3) token shards with held-out splits, one folder per part of the mix
        var parts = new List<(string Name, string Dir)>();
        using (var tok = TextTokenizer.FromDirectory(tokDir))
        {
            if (o.Corpus.Count > 0) parts.Add(("prose", Prepare(Path.Combine(work, "data", "prose"), o.Corpus, DocumentSplit.Paragraph, o, tok, "[3/6] prose")));
            if (o.MathCount > 0) parts.Add(("synthetic math", Prepare(Path.Combine(work, "data", "math"), [mathFile], DocumentSplit.File, o, tok, "[3/6] math")));
            if (o.ChainCount > 0) parts.Add(("chains mod 10", Prepare(Path.Combine(work, "data", "chain"), [chainFile], DocumentSplit.File, o, tok, "[3/6] chains")));
            if (o.HopCount > 0) parts.Add(("variable hops", Prepare(Path.Combine(work, "data", "hop"), [hopFile], DocumentSplit.File, o, tok, "[3/6] hops")));
        }

        // (4) the starting point: a random model, or the model being continued
        var init = o.InitFrom ?? Path.Combine(work, "init");
        if (o.InitFrom is null && !File.Exists(Path.Combine(init, HfConfig.FileName)))
        {
            var made = ModelFactory.CreatePlain(o.Shape, tokDir, init, o.InitSeed);
            o.Log($"[4/6] random model: {made.NumLayers} layers, d {made.HiddenSize}, heads {made.NumHeads}/{made.NumKvHeads}, FFN {made.IntermediateSize}, vocab {made.VocabSize}");
        }
        else if (o.InitFrom is not null) o.Log($"[4/6] continuing {o.InitFrom}");

        var train = o.Train with
        {
            Model = init,
            TrainData = parts.Select(x => Path.Combine(x.Dir, DataPreparer.TrainFile)).ToList(),
            ValData = parts.Select(x => Path.Combine(x.Dir, DataPreparer.ValFile)).ToList(),
            Curriculum = CurriculumShape.None,
        };
        o.Log("[5/6] training");
        bool resume = new CheckpointManager(work, train.KeepLast).Complete().Count > 0;
        var result = Trainer.Run(train, new TrainRunOptions { Log = o.Log, Progress = o.Progress, Cancel = o.Cancel, Resume = resume ? "auto" : null, CommandLine = o.CommandLine });
        if (result.Stopped) return result;

        o.Log($"[6/6] shipping {o.ShipTo}");
        Ship(result.FinalDir, o, parts, TrainingTime(work, clock.Elapsed));
        return result with { FinalDir = Path.GetFullPath(o.ShipTo) };
    }

    /// <summary>The training's own wall time over all its resumed pieces (metrics.jsonl's last elapsed_s), else this run's.</summary>
    private static TimeSpan TrainingTime(string runDir, TimeSpan fallback)
    {
        var path = Path.Combine(runDir, MetricsLog.FileName);
        if (!File.Exists(path)) return fallback;
        var last = MetricsLog.Read(path).LastOrDefault(r => r["elapsed_s"] is not null);
        return last is null ? fallback : TimeSpan.FromSeconds(last["elapsed_s"]!.GetValue<double>());
    }

    private static string Prepare(string dir, IReadOnlyList<string> inputs, DocumentSplit split, PretrainOptions o, TextTokenizer tok, string what)
    {
        if (File.Exists(Path.Combine(dir, DataPreparer.ManifestFile))) return dir;
        o.Log($"{what}: tokenizing {string.Join(", ", inputs)} into rows of {o.Train.SeqLen + 1}");
        DataPreparer.Prepare(new DataPrepareOptions
        {
            Inputs = inputs, OutDir = dir, SeqLen = o.Train.SeqLen, Sources = new DocumentSourceOptions(DocSplit: split),
            HoldoutFraction = o.HoldoutFraction, Seed = o.Train.Seed, Log = o.Log,
        }, tok);
        return dir;
    }

    private static void Ship(string finalDir, PretrainOptions o, IReadOnlyList<(string Name, string Dir)> parts, TimeSpan elapsed)
    {
        using var weights = HfModel.Load(finalDir, ScalarType.Float32, Deepen.Torch.ComputeDevice.Resolve(o.Train.Device));   // the card's figures on the training's device
        using var model = DeepenModel.For(weights, "tiny-base", HfConfig.ReadJson(finalDir));
        var held = parts.Select(x => (x.Name, Validation.Run(model, [Path.Combine(x.Dir, DataPreparer.ValFile)], [1], 8, 0, o.Train.Seed, null, null).Values.Single().Loss)).ToList();
        using var tok = TextTokenizer.FromDirectory(finalDir);
        var tables = new List<(string Title, string Unit, IReadOnlyList<(int Ops, int Count, double Acc)> Rows)>();
        if (o.ChainCount > 0)
            tables.Add(("Chains answered directly (validation split, greedy, chance 10 %)", "operations", AccuracyByLength(model, tok,
                ModChain.Generate(new ModChainOptions { Count = 1200, Ops = Enumerable.Range(1, 12).ToList(), Seed = o.ChainSeed + 1, Split = ChainSplit.Validation }))));
        if (o.HopCount > 0)
        {
            int maxHops = Math.Min(8, VariableHops.Names / o.HopChains);
            tables.Add(($"Variable hops answered directly (validation split, greedy, {o.HopChains} chains: chance {100.0 / o.HopChains:F0} % for a digit of the prompt)", "hops", AccuracyByLength(model, tok,
                VariableHops.Generate(new VariableHopsOptions { Count = 100 * maxHops, Hops = Enumerable.Range(1, maxHops).ToList(), Chains = o.HopChains, Seed = o.HopSeed + 1, Split = ChainSplit.Validation }))));
        }
        var prompts = new List<string>
        {
            "It is a truth universally acknowledged",
            "The State of the Union",
            "Question: Mia has 12 apples. She buys 7 more. How many apples does Mia have now?\nAnswer:",
        };
        if (o.ChainCount > 0) prompts.AddRange(["mod 10: 6 -2 *3 +5 work:", "mod 10: 6 -2 *3 +5 ="]);
        if (o.HopCount > 0) prompts.Add("find k:t=3;o=t;m=5;k=o;z=m.k?");
        var generator = new Deepen.Inference.Generator(model, tok);
        var samples = prompts.Select(p => (p, generator.Generate([p], new GenerationOptions { MaxNewTokens = 48 }).Single().Text)).ToList();
        long parameters = weights.parameters().Sum(p => p.numel());
        AtomicDirectory.Write(o.ShipTo, overwrite: true, tmp =>
        {
            model.WriteInto(tmp, ScalarType.BFloat16);
            RecurrentCheckpoint.CopyCompanions(finalDir, tmp);
            File.WriteAllText(Path.Combine(tmp, "README.md"), ModelCard(o, weights.Config, parameters, held, tables, samples, elapsed));
        });
        o.Log("held-out loss: " + string.Join(", ", held.Select(h => $"{h.Name} {h.Item2:F3}")) + " (nats/token)");
    }

    /// <summary>Direct-answer accuracy on <paramref name="problems"/>, by length (operations or hops).</summary>
    private static IReadOnlyList<(int Ops, int Count, double Acc)> AccuracyByLength(DeepenModel model, TextTokenizer tok, IEnumerable<ChainProblem> problems)
    {
        var docs = Evaluation.Tasks.ChainTask.Of(problems);
        var task = new Evaluation.Tasks.ChainTask("chain", docs);
        var run = Evaluation.EvalRunner.RunTask(task, new ModelLanguageModel(model, tok, new ModelLanguageModelOptions { BatchSize = 64 }), 1, batchSize: 64);
        return run.Samples.GroupBy(x => docs[x.Doc].Ops).OrderBy(g => g.Key)
            .Select(g => (g.Key, g.Count(), g.Average(x => x.Scores[Evaluation.Tasks.ChainTask.Accuracy]))).ToList();
    }

    private static string ModelCard(PretrainOptions o, ModelConfig c, long parameters, IReadOnlyList<(string Name, double Loss)> held,
        IReadOnlyList<(string Title, string Unit, IReadOnlyList<(int Ops, int Count, double Acc)> Rows)> tables, IReadOnlyList<(string Prompt, string Completion)> samples, TimeSpan elapsed)
    {
        var t = o.Train;
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine($"# {Path.GetFileName(o.ShipTo.TrimEnd('/'))}: Deepen's own small base model");
        sb.AppendLine();
        sb.AppendLine("A plain Llama pretrained by Deepen on public-domain English prose and synthetic problems, so that the");
        sb.AppendLine("retrofitted-recurrence method can be shown end to end offline. It is a small model trained briefly on a few");
        sb.AppendLine("million tokens: fluent-ish locally, not knowledgeable.");
        if (o.Corpus.Count == 0)
            sb.AppendLine("Its last training saw no prose, so its prose has turned into its synthetic tasks (see the samples): it is a base for those tasks, not a language model.");
        sb.AppendLine();
        sb.AppendLine("## How it was made");
        sb.AppendLine();
        sb.AppendLine("```");
        sb.AppendLine(o.CommandLine ?? "deepen pretrain --config configs/tiny-base.yaml");
        sb.AppendLine("```");
        sb.AppendLine();
        if (o.Tokenizer is not null)
            sb.AppendLine($"- Tokenizer: the one of `{Path.GetFileName(o.Tokenizer.TrimEnd('/'))}` (byte-level BPE, vocabulary {c.VocabSize}, digits split one per token); the weights are a fresh random init (seed {o.InitSeed}).");
        else if (o.InitFrom is not null)
            sb.AppendLine($"- Continued from `{Path.GetFileName(o.InitFrom.TrimEnd('/'))}` (its own card says how that was made); its tokenizer and architecture are kept.");
        else
            sb.AppendLine($"- Tokenizer: byte-level BPE, vocabulary {c.VocabSize}, digits split one per token, trained by `deepen tokenizer train` on {string.Join(", ", o.Corpus.Select(Path.GetFileName))} (at most {o.TokenizerMaxBytes:N0} bytes).");
        var mix = new List<string>();
        if (o.Corpus.Count > 0) mix.Add("the prose corpus (`../shared/data/corpus`: State of the Union addresses, the Brown corpus, Austen, Moby-Dick; public domain or redistributable) split into paragraphs");
        if (o.MathCount > 0) mix.Add($"{o.MathCount:N0} synthetic word problems (`deepen data synth-math`, train split, worked steps, {o.MathOps.Min()}–{o.MathOps.Max()} operations, seed {o.MathSeed}) as `Question: …\\nAnswer: …` text");
        if (o.HopCount > 0) mix.Add($"{o.HopCount:N0} variable look-ups (`deepen data synth-hops`, train split, hops cycling through {string.Join(",", o.HopHops)}, {o.HopChains} chains, {o.HopWorkedFraction:P0} with the hops written out, {o.HopAskAllFraction:P0} of the rest asking every chain's head, seed {o.HopSeed})");
        if (o.ChainCount > 0) mix.Add($"{o.ChainCount:N0} chains of operations mod 10 (`deepen data synth-chain`, train split, lengths cycling through {string.Join(",", o.ChainOps)}, {o.ChainWorkedFraction:P0} with worked steps, seed {o.ChainSeed})");
        sb.AppendLine($"- Data: {string.Join("; plus ", mix)}; packed into rows of {t.SeqLen + 1} tokens; {o.HoldoutFraction:P1} of rows of each held out.");
        sb.AppendLine($"- Architecture: Llama, {c.NumLayers} layers, d {c.HiddenSize}, {c.NumHeads} query / {c.NumKvHeads} KV heads (head_dim {c.HeadDim}), SwiGLU FFN {c.IntermediateSize}, RMSNorm, rope θ {c.RopeTheta.ToString(inv)}, context {c.MaxPositionEmbeddings}, untied embeddings; {parameters:N0} parameters.");
        sb.AppendLine($"- Training: {t.MaxSteps} steps × {t.MicroBatchSize * t.GradAccumSteps} sequences × {t.SeqLen} tokens = {(long)t.MaxSteps * t.MicroBatchSize * t.GradAccumSteps * t.SeqLen:N0} tokens; {ConfigWords.Of(t.Optimizer)} (lr {t.Lr.ToString(inv)}{(t.Optimizer == OptimizerKind.Muon ? $", Muon lr {t.MuonLr.ToString(inv)}" : "")}), WSD schedule (warmup {t.Warmup.ToString(inv)}, cooldown {t.Cooldown.ToString(inv)}), {ConfigWords.Of(t.Precision)}, loss on {ConfigWords.Of(t.LossOn)} tokens, seed {t.Seed}; {elapsed.TotalMinutes:F0} min of training on 2 CPU cores.");
        sb.AppendLine("- Weights: BF16 safetensors in HF layout (`config.json`, `model.safetensors`, `tokenizer.json`).");
        sb.AppendLine();
        sb.AppendLine("## Held-out loss");
        sb.AppendLine();
        sb.AppendLine("| held-out split | loss (nats/token) | perplexity |");
        sb.AppendLine("|---|---|---|");
        foreach (var (name, loss) in held) sb.AppendLine($"| {name} | {loss:F3} | {Math.Exp(loss):F2} |");
        sb.AppendLine();
        foreach (var (title, unit, chains) in tables)
        {
            sb.AppendLine("## " + title);
            sb.AppendLine();
            sb.AppendLine($"| {unit} | " + string.Join(" | ", chains.Select(x => x.Ops)) + " |");
            sb.AppendLine("|---|" + string.Concat(chains.Select(_ => "---|")));
            sb.AppendLine("| problems | " + string.Join(" | ", chains.Select(x => x.Count)) + " |");
            sb.AppendLine("| accuracy (%) | " + string.Join(" | ", chains.Select(x => (x.Acc * 100).ToString("F0", inv))) + " |");
            sb.AppendLine();
        }
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
