using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Modeling;
using TorchSharp;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;

namespace Deepen.Models;

/// <summary>One step's result: logits of the step's last position (B, V), or of every position (B, T, V), and the iterations each row ran.</summary>
/// <param name="Logits">(B, V) or (B, T, V), in the model's dtype.</param>
/// <param name="Depth">Iterations each row's step ran (1 for a plain model).</param>
public sealed record StepOutput(Tensor Logits, int[] Depth);

/// <summary>
/// Per-row settings of a batched step (continuous batching): each row's own recurrence and its own generator for
/// the initial-state noise, so a row's step is the step it would run alone. Plain models ignore them.
/// </summary>
/// <param name="Recurrence">Iterations for each row (with an adaptive exit: each row's maximum).</param>
/// <param name="Noise">Each row's noise generator (null: the default generator).</param>
public sealed record RowSettings(int[] Recurrence, TorchGenerator?[] Noise)
{
    /// <summary>Padding positions at the start of each row (null: none): a row's noise is drawn for its real positions only, as alone, and padding starts from zeros.</summary>
    public int[]? LeftPad { get; init; }
}

/// <summary>
/// The one model interface: a loaded plain model (<see cref="LlamaModel"/>, <see cref="PlainDeepenModel"/>) or recurrent
/// one (<see cref="RecurrentModel"/>, <see cref="RecurrentDeepenModel"/>), as training, evaluation, inference and the
/// server all use it: logits at a sampled depth (<see cref="Logits"/>), the non-cached forward at a fixed depth
/// (<see cref="Forward"/>), a cached step (<see cref="Step"/>), the FLOPs, the parameter groups, and saving in the model's
/// own format. What depth means is answered here, so callers never ask which kind they hold: a plain model is the
/// degenerate case, one pass at its own depth.
/// </summary>
public abstract class DeepenModel : IDisposable
{
    private readonly bool ownsModule;

    private protected DeepenModel(nn.Module module, string name, bool ownsModule)
    {
        Module = module;
        this.ownsModule = ownsModule;
        Name = name;
        var weight = module.parameters().First();
        Device = weight.device;
        DType = weight.dtype;
    }

    /// <summary>The TorchSharp module whose parameters are the model's.</summary>
    public nn.Module Module { get; }

    /// <summary>A short name (the model directory's name).</summary>
    public string Name { get; }

    /// <summary>The device the weights live on; batches, states, caches and optimizer buffers follow it.</summary>
    public Device Device { get; }

    /// <summary>The weights' dtype.</summary>
    public ScalarType DType { get; }

    /// <summary>Whether this is a depth-recurrent model (for the CLI's checks of depth flags).</summary>
    public abstract bool IsRecurrent { get; }

    /// <summary>"recurrent" or "plain", for logs.</summary>
    public string Kind => IsRecurrent ? "recurrent" : "plain";

    /// <summary>Rows of the LM head (the model's, possibly padded, vocabulary).</summary>
    public abstract int VocabSize { get; }

    /// <summary>Positions the model was configured for (<c>max_position_embeddings</c>).</summary>
    public abstract int ContextLength { get; }

    /// <summary>End-of-sequence ids from config.json.</summary>
    public abstract IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>FLOP accounting (method.md §5).</summary>
    public abstract FlopCounter Flops { get; }

    // ---- Depth ----

    /// <summary>Iterations a step runs without an explicit recurrence (config <c>mean_recurrence</c>; 1 for a plain model).</summary>
    public abstract int DefaultRecurrence { get; }

    /// <summary>The training targets: the config's mean recurrence and backprop depth (0 = the model's defaults); (1, 1) for a plain model.</summary>
    public abstract (int MeanRecurrence, int BackpropDepth) Targets(int configMean, int configDepth);

    /// <summary>A micro-batch's depth at mean r̄ and backprop depth k (method.md §4.1); a plain model runs once, with gradient.</summary>
    public abstract RecurrenceDraw Draw(int meanRecurrence, int backpropDepth, long dataStep);

    /// <summary>The recurrences to evaluate of those asked: all of them, or the one depth a plain model has.</summary>
    public IReadOnlyList<int> Recurrences(IReadOnlyList<int> asked) => IsRecurrent ? asked : [1];

    /// <summary>The recurrence a step runs (fixed) or may run (adaptive): the option, else <see cref="DefaultRecurrence"/>.</summary>
    public int ResolveRecurrence(DepthOptions depth) => IsRecurrent ? depth.Recurrence ?? DefaultRecurrence : 1;

    /// <summary>Checks <paramref name="depth"/> against the model: a recurrence of at least 1, and for a plain model, which
    /// has no depth to choose, no explicit recurrence or adaptive exit (an error naming the setting).</summary>
    public void CheckDepth(DepthOptions depth)
    {
        depth.Validate();
        if (IsRecurrent) return;
        if (depth.Exit is not null) throw DeepenException.BadSetting("adaptive", $"applies to recurrent models; {Name} is a plain model.");
        if (depth.Recurrence is not null) throw DeepenException.BadSetting("recurrence", $"applies to recurrent models; {Name} is a plain model.");
    }

    /// <summary>The depth part of a log line about a forward at <paramref name="depth"/>: "r = 4, state random", or nothing for a plain model.</summary>
    public string DescribeForward(DepthOptions depth) =>
        IsRecurrent ? $"r = {ResolveRecurrence(depth)}{(depth.Exit is null ? "" : $" at most, exit {depth.Exit}")}, state {depth.InitialState.ToString().ToLowerInvariant()}" : "";

    /// <summary>The model's name at a depth, for tables: "name@r4", or the plain model's name.</summary>
    public string NameAt(DepthOptions depth) => IsRecurrent ? $"{Name}@r{ResolveRecurrence(depth)}" : Name;

    /// <summary>The metrics key and the log text of a held-out loss at recurrence <paramref name="r"/>.</summary>
    public (string Key, string Text) ValidationLabel(int r, double loss) =>
        IsRecurrent ? ($"val_loss_r{r}", $"r={r} {loss:F4}") : ("val_loss", $"{loss:F4}");

    /// <summary>The depth part of the training log line: ", r̄ → 4 (1-sqrt), backprop depth 4", or nothing for a plain model.</summary>
    public string DescribeDepth(int target, string curriculum, int depth) =>
        IsRecurrent ? $", r̄ → {target} ({curriculum}), backprop depth {depth}" : "";

    // ---- Compute ----

    /// <summary>
    /// Training logits (B, T, V) for inputs (B, T) at <paramref name="draw"/> (ignored by a plain model); the initial
    /// state's noise comes from <paramref name="noise"/>, drawn for this rank's <paramref name="shard"/> of the
    /// ranks' rows when given (see <see cref="RecurrenceOptions.Shard"/>). With <paramref name="rows"/> (N,) int64
    /// into the flattened (B·T) positions, only those positions' logits are computed: (N, V)
    /// (see <see cref="RecurrenceOptions.Rows"/>).
    /// </summary>
    public abstract Tensor Logits(Tensor inputs, RecurrenceDraw draw, TorchGenerator? noise, NoiseShard? shard = null, Tensor? rows = null);

    /// <summary>The model's own non-cached forward: ids (B, T) → logits (B, T, V) at a fixed depth.</summary>
    public abstract Tensor Forward(Tensor ids, DepthOptions depth, TorchGenerator? noise);

    /// <summary>An empty cache for <paramref name="batch"/> rows, sized for the depth the steps will run.</summary>
    public abstract KvCache NewCache(int batch, IReadOnlyList<int>? leftPad, long capacity, DepthOptions depth, KvCacheOptions? options = null);

    /// <summary>
    /// Runs <paramref name="ids"/> (B, T) as the next T positions of every row, reading and extending
    /// <paramref name="cache"/>. <paramref name="noise"/> draws the new tokens' initial states (recurrent models,
    /// <see cref="StateInit.Random"/>). <paramref name="rows"/>, when given, overrides the recurrence and the noise row
    /// by row. Call inside <c>no_grad</c> and a dispose scope.
    /// </summary>
    public abstract StepOutput Step(Tensor ids, KvCache cache, DepthOptions depth, TorchGenerator? noise, bool allLogits = false, RowSettings? rows = null);

    // ---- Parameters and files ----

    public IEnumerable<(string name, TorchSharp.Modules.Parameter parameter)> NamedParameters() =>
        Module.named_parameters().Select(p => (p.name, p.parameter));

    /// <summary>The Muon and Adam groups of method.md §6.1 (<see cref="ParameterGrouping"/>), each Muon matrix as the
    /// model's own checkpoint format holds it.</summary>
    public virtual (IReadOnlyList<NamedParameter> Muon, IReadOnlyList<NamedParameter> Adam) ParameterGroups() =>
        ParameterGrouping.Split(NamedParameters());

    /// <summary>Per-parameter training state (an optimizer's, named <c>prefix.parameter</c>) named as the model's checkpoint
    /// names its weights: unchanged for a recurrent model, under HF's keys for a plain one (<see cref="HfLayout.StateToHf"/>).</summary>
    public virtual IEnumerable<KeyValuePair<string, Tensor>> StateToCheckpoint(IEnumerable<KeyValuePair<string, Tensor>> state) => state;

    /// <summary>The inverse of <see cref="StateToCheckpoint"/>, for a state read from a checkpoint.</summary>
    public virtual IReadOnlyDictionary<string, Tensor> StateFromCheckpoint(IReadOnlyDictionary<string, Tensor> state) => state;

    /// <summary>Writes the model's files (config and weights) into an existing directory.</summary>
    public abstract void WriteInto(string dir, ScalarType dtype);

    /// <summary>Loads a model directory, recurrent (Raven layout) or plain (HF Llama/OLMo-2), in <paramref name="dtype"/>
    /// (training: float32 master weights) onto <paramref name="device"/> (default: the CPU).</summary>
    public static DeepenModel Load(string dir, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
        return RecurrentCheckpoint.IsRecurrent(dir)
            ? new RecurrentDeepenModel(RecurrentCheckpoint.Load(dir, dtype, device), name)
            : new PlainDeepenModel(HfModel.Load(dir, dtype, device), name, HfConfig.ReadJson(dir));
    }

    /// <summary>Wraps a plain model (not disposed with the wrapper); <paramref name="hfConfig"/> is the config.json to save
    /// with it (default: one written from its config).</summary>
    public static DeepenModel For(LlamaModel model, string name = "model", JsonObject? hfConfig = null) =>
        new PlainDeepenModel(model, name, hfConfig, ownsModule: false);

    /// <summary>Wraps a recurrent model (not disposed with the wrapper).</summary>
    public static DeepenModel For(RecurrentModel model, string name = "model") => new RecurrentDeepenModel(model, name, ownsModule: false);

    /// <summary>Disposes the wrapped model when this wrapper owns it.</summary>
    public void Dispose()
    {
        if (ownsModule) Module.Dispose();
        GC.SuppressFinalize(this);
    }
}
