using System.ComponentModel;
using Deepen.Data;

namespace Deepen.Training;

/// <summary>
/// Everything a training run needs. Each property is one config key: the YAML key and the CLI flag are
/// the property name in snake_case (<c>MicroBatchSize</c> → <c>micro_batch_size</c>, <c>--micro_batch_size</c>), and its
/// <see cref="DescriptionAttribute"/> is the key's help text (<c>deepen train --help</c>).
/// Defaults are the paper's math recipe (method.md §6) where one exists. A run directory records the
/// fully resolved config it ran with (<c>config.yaml</c>).
/// </summary>
public sealed record TrainConfig
{
    // ---- model and data ----
    [Description("Model directory: a recurrent (Raven) model, or a plain HF model for the non-recurrent baseline.")]
    public string Model { get; init; } = "";
    [Description("Run directory (metrics, checkpoints, final model).")]
    public string Out { get; init; } = "";
    [Description("Training data: token shards (.tokens files or a folder from deepen data prepare), or text/JSONL/Parquet inputs, which are prepared into the run directory with the model's tokenizer.")]
    public IReadOnlyList<string> TrainData { get; init; } = [];
    [Description("Held-out token shards; default: the val.tokens beside the training shards (or prepared with them).")]
    public IReadOnlyList<string> ValData { get; init; } = [];
    [Description("JSONL key holding each document when raw inputs are prepared.")]
    public string TextField { get; init; } = "text";
    [Description("Sequence length when raw inputs are prepared (rows hold seq_len + 1 tokens); shards keep their own.")]
    public int SeqLen { get; init; } = 1024;
    [Description("Sequence-length curriculum [start, end, warmup_fraction, linear|1-sqrt] (lengths multiples of 64), cut losslessly from the token stream; empty = rows at their stored length (the paper: fixed 1024).")]
    public IReadOnlyList<string> SeqLenSchedule { get; init; } = [];
    [Description("wrap (new epoch, reshuffled) or stop at the end of the training data.")]
    public DataEndAction OnDataEnd { get; init; } = DataEndAction.Wrap;
    [Description("Which next-token predictions the loss (training and validation) averages over: all, or answer = the tokens after each answer_marker up to and including the document's EOS (the authors' default for Q/A data, which supervises only the assistant turn).")]
    public LossTokens LossOn { get; init; } = LossTokens.All;
    [Description("The text that opens an answer, for loss_on: answer (encoded with the model's tokenizer, no special tokens).")]
    public string AnswerMarker { get; init; } = "\nA:";

    // ---- batch and steps ----
    [Description("Sequences per micro-batch (per rank).")]
    public int MicroBatchSize { get; init; } = 8;
    [Description("Micro-batches accumulated per optimizer step.")]
    public int GradAccumSteps { get; init; } = 1;
    [Description("Optimizer steps in the run (the schedules' horizon).")]
    public int MaxSteps { get; init; } = 1000;

    // ---- optimizer ----
    [Description("muon (Muon for hidden matrices + AdamW for embeddings, head, norms) or adamw (AdamW on everything).")]
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Muon;
    [Description("AdamW learning rate (embeddings, head, norms; everything for optimizer=adamw).")]
    public double Lr { get; init; } = 5e-5;
    [Description("Muon learning rate (hidden matrices and the adapter).")]
    public double MuonLr { get; init; } = 1e-3;
    [Description("AdamW decoupled weight decay.")]
    public double WeightDecay { get; init; } = 1e-4;
    [Description("Muon decoupled weight decay.")]
    public double MuonWeightDecay { get; init; } = 1e-4;
    [Description("Global gradient-norm clip.")]
    public double GradClip { get; init; } = 1.0;
    [Description("LR warmup fraction of max_steps (WSD).")]
    public double Warmup { get; init; } = 0.0025;
    [Description("LR cosine-decay fraction of max_steps (WSD).")]
    public double Cooldown { get; init; } = 0.6;
    [Description("LR floor as a fraction of the peak.")]
    public double MinLrRatio { get; init; } = 0.001;

    // ---- recurrence ----
    [Description("Target mean recurrence r̄; 0 = the model's config mean_recurrence.")]
    public int MeanRecurrence { get; init; }
    [Description("Backprop depth s (iterations with gradient); 0 = the model's config mean_backprop_depth.")]
    public int BackpropDepth { get; init; }
    [Description("Mean-recurrence curriculum: none, linear or 1-sqrt.")]
    public CurriculumShape Curriculum { get; init; } = CurriculumShape.OneSqrt;
    [Description("Curriculum warmup as a fraction of max_steps.")]
    public double CurriculumWarmup { get; init; } = 0.75;
    [Description("Backprop-depth curriculum (method.md §5.2): none or linear.")]
    public CurriculumShape BackpropCurriculum { get; init; } = CurriculumShape.None;
    [Description("Backprop depth the depth curriculum starts from.")]
    public int BackpropCurriculumStart { get; init; } = 1;

    // ---- precision, seeds, threads ----
    [Description("fp32, or bf16-mixed (fp32 master weights, bf16 matmuls).")]
    public PrecisionKind Precision { get; init; } = PrecisionKind.Fp32;
    [Description("Seed of the data order and the initial-state noise.")]
    public long Seed { get; init; } = 74;
    [Description("Torch threads; 0 = all cores.")]
    public int Threads { get; init; }
    [Description("Compute device: cpu, cuda or cuda:N; empty = cuda when TorchSharp finds a CUDA device, else cpu.")]
    public string Device { get; init; } = "";

    // ---- logging, validation, checkpoints ----
    [Description("Validate every N steps (0 = only at the end).")]
    public int EvalEvery { get; init; } = 500;
    [Description("Recurrences at which validation loss is measured (recurrent models).")]
    public IReadOnlyList<int> ValRecurrences { get; init; } = [1, 2, 4, 8, 16, 32];
    [Description("Held-out micro-batches per validation (0 = all).")]
    public int ValBatches { get; init; } = 16;
    [Description("Checkpoint every N steps (0 = only the final model).")]
    public int SaveEvery { get; init; } = 1000;
    [Description("Checkpoints kept (the newest).")]
    public int KeepLast { get; init; } = 2;
    [Description("Stored dtype of final/: float32 or bfloat16.")]
    public SaveDtypeKind SaveDtype { get; init; } = SaveDtypeKind.Float32;
}
