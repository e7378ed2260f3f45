using System.CommandLine;
using Deepen.Checkpoints;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tokenization;
using Deepen.Models;

namespace Deepen.Cli.Commands;

/// <summary>The flags that <c>generate</c>, <c>chat</c> and <c>serve</c> share: model, depth, cache and sampling.</summary>
public sealed class InferenceFlags
{
    public readonly Option<string> Model = new("--model") { Description = "Model directory (recurrent or plain HF) with its tokenizer.", Required = true };
    public readonly Option<string> DType = new("--dtype") { Description = "float32 or bfloat16.", DefaultValueFactory = _ => "float32" };
    public readonly Option<int?> Recurrence = new("--recurrence") { Description = "Recurrent models: iterations per token (default: config mean_recurrence)." };
    public readonly Option<string?> Adaptive = new("--adaptive") { Description = "Recurrent models: stop iterating when the change falls below a threshold: kl:5e-4 or latent:0.03." };
    public readonly Option<int?> MaxRecurrence = new("--max-recurrence") { Description = "With --adaptive: the most iterations per token (default 32)." };
    public readonly Option<string> State = new("--state") { Description = "Recurrent models: each token's initial state, random (fresh noise, the method's default) or zeros.", DefaultValueFactory = _ => "random" };
    public readonly Option<int?> KvKeep = new("--kv-keep-iterations") { Description = "Memory-saving KV cache: keep M iterations per core layer (iteration t uses entry t mod M; approximate when M < r)." };
    public readonly Option<bool> NoCache = new("--no-cache") { Description = "Re-run the whole sequence for every token (slow; for comparisons)." };
    public readonly Option<int> MaxNewTokens;
    public readonly Option<double> Temperature;
    public readonly Option<int> TopK = new("--top-k") { Description = "Keep the k most likely tokens (0 = off).", DefaultValueFactory = _ => 0 };
    public readonly Option<double> TopP = new("--top-p") { Description = "Nucleus sampling: keep the most likely tokens up to this mass (1 = off).", DefaultValueFactory = _ => 1.0 };
    public readonly Option<double> MinP = new("--min-p") { Description = "Drop tokens below min-p × the top probability (0 = off).", DefaultValueFactory = _ => 0.0 };
    public readonly Option<double> RepetitionPenalty = new("--repetition-penalty") { Description = "Penalise tokens already present (1 = off).", DefaultValueFactory = _ => 1.0 };
    public readonly Option<long?> Seed = new("--seed") { Description = "Seed of the sampling and the initial-state noise." };
    public readonly Option<string[]> Stop = new("--stop") { Description = "Stop before this string (repeatable).", AllowMultipleArgumentsPerToken = false };
    public readonly Option<string?> Device = DeviceFlag.Create();
    public readonly Option<bool> Truncate = new("--truncate") { Description = "Keep the end of a prompt that is longer than the context instead of failing." };

    public InferenceFlags(int defaultMaxNewTokens, double defaultTemperature)
    {
        MaxNewTokens = new("--max-new-tokens") { Description = "The most tokens to generate.", DefaultValueFactory = _ => defaultMaxNewTokens };
        Temperature = new("--temperature") { Description = "Sampling temperature (0 = greedy).", DefaultValueFactory = _ => defaultTemperature };
    }

    /// <summary>Adds the flags to <paramref name="cmd"/>; <paramref name="withGeneration"/> false leaves out per-call generation flags (serve).</summary>
    public void AddTo(Command cmd, bool withGeneration = true)
    {
        Option[] shared = [Model, DType, Device, Recurrence, Adaptive, MaxRecurrence, State, KvKeep];
        Option[] generation = [NoCache, MaxNewTokens, Temperature, TopK, TopP, MinP, RepetitionPenalty, Seed, Stop, Truncate];
        foreach (var o in shared) cmd.Options.Add(o);
        if (withGeneration) foreach (var o in generation) cmd.Options.Add(o);
        else cmd.Options.Add(Truncate);
    }

    /// <summary>Loads the model and its tokenizer.</summary>
    public (DeepenModel Model, TextTokenizer Tokenizer) Load(ParseResult parse)
    {
        var dir = parse.GetValue(Model)!;
        if (!Directory.Exists(dir)) throw new DeepenException($"--model {dir}: directory not found.");
        var device = DeviceFlag.Resolve(parse, Device);
        var model = DeepenModel.Load(dir, HfModel.ParseDType(parse.GetValue(DType)!), device);
        try { return (model, TextTokenizer.FromDirectory(dir)); }
        catch { model.Dispose(); throw; }
    }

    /// <summary>The depth flags, checked against the model (<see cref="DeepenModel.CheckDepth"/>).</summary>
    public DepthOptions Depth(ParseResult parse, DeepenModel model)
    {
        int? r = parse.GetValue(Recurrence), maxR = parse.GetValue(MaxRecurrence);
        var adaptive = parse.GetValue(Adaptive);
        if (adaptive is null && maxR is not null) throw new DeepenException("--max-recurrence goes with --adaptive; use --recurrence for a fixed depth.");
        if (adaptive is not null && r is not null) throw new DeepenException("give either --recurrence (fixed depth) or --adaptive with --max-recurrence, not both.");
        var state = ParseState(parse.GetValue(State));
        var depth = adaptive is null
            ? new DepthOptions { Recurrence = r, InitialState = state }
            : DepthOptions.Adaptive(ExitCriterion.Parse(adaptive), maxR ?? 32, state);
        model.CheckDepth(depth);
        return depth;
    }

    /// <summary>The value of a <c>--state</c> flag: random or zeros.</summary>
    public static StateInit ParseState(string? value) => value switch
    {
        "random" => StateInit.Random,
        "zeros" => StateInit.Zeros,
        var v => throw new DeepenException($"--state '{v}': expected random or zeros."),
    };

    /// <summary>The cache flags.</summary>
    public KvCacheOptions Cache(ParseResult parse)
    {
        var cache = new KvCacheOptions { KeepIterations = parse.GetValue(KvKeep) };
        cache.Validate();
        return cache;
    }

    /// <summary>Every generation flag as <see cref="GenerationOptions"/>, validated.</summary>
    public GenerationOptions Generation(ParseResult parse, DeepenModel model)
    {
        var options = new GenerationOptions
        {
            MaxNewTokens = parse.GetValue(MaxNewTokens),
            Sampling = new SamplingOptions
            {
                Temperature = parse.GetValue(Temperature),
                TopK = parse.GetValue(TopK),
                TopP = parse.GetValue(TopP),
                MinP = parse.GetValue(MinP),
                RepetitionPenalty = parse.GetValue(RepetitionPenalty),
            },
            Seed = parse.GetValue(Seed),
            StopStrings = parse.GetValue(Stop) ?? [],
            TruncatePrompt = parse.GetValue(Truncate),
            UseCache = !parse.GetValue(NoCache),
            Depth = Depth(parse, model),
            Cache = Cache(parse),
        };
        try { options.Validate(); }
        catch (DeepenException e) when (!e.Message.StartsWith("--", StringComparison.Ordinal)) { throw new DeepenException("--" + e.Message); }
        return options;
    }
}
