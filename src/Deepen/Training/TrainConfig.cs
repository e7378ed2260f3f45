namespace Deepen.Training;

/// <summary>
/// Everything a training run needs. Each property is one config key: the YAML key and the CLI flag are
/// the property name in snake_case (<c>MicroBatchSize</c> → <c>micro_batch_size</c>, <c>--micro_batch_size</c>).
/// Defaults are the paper's math recipe (method.md §6) where one exists. A run directory records the
/// fully resolved config it ran with (<c>config.yaml</c>).
/// </summary>
public sealed record TrainConfig
{
    // ---- model and data ----
    /// <summary>Model directory: a recurrent (Raven) model, or a plain HF model for the non-recurrent baseline.</summary>
    public string Model { get; init; } = "";
    /// <summary>Run directory (metrics, checkpoints, final model).</summary>
    public string Out { get; init; } = "";
    /// <summary>Training data: token shards (.tokens files or a folder from <c>deepen data prepare</c>), or text/JSONL/Parquet inputs, which are prepared into the run directory with the model's tokenizer.</summary>
    public IReadOnlyList<string> TrainData { get; init; } = [];
    /// <summary>Held-out token shards; default: the val.tokens beside the training shards (or prepared with them).</summary>
    public IReadOnlyList<string> ValData { get; init; } = [];
    /// <summary>JSONL key holding each document when raw inputs are prepared.</summary>
    public string TextField { get; init; } = "text";
    /// <summary>Sequence length when raw inputs are prepared (rows hold seq_len + 1 tokens); shards keep their own.</summary>
    public int SeqLen { get; init; } = 1024;
    /// <summary>Sequence-length curriculum [start, end, warmup_fraction, linear|1-sqrt] (lengths multiples of 64), cut losslessly from the token stream; empty = rows at their stored length (the paper: fixed 1024).</summary>
    public IReadOnlyList<string> SeqLenSchedule { get; init; } = [];
    /// <summary>wrap (new epoch, reshuffled) or stop at the end of the training data.</summary>
    public string OnDataEnd { get; init; } = "wrap";
    /// <summary>Which next-token predictions the loss (training and validation) averages over: all, or answer = the tokens after each answer_marker up to and including the document's EOS (the authors' default for Q/A data, which supervises only the assistant turn).</summary>
    public string LossOn { get; init; } = "all";
    /// <summary>The text that opens an answer, for loss_on: answer (encoded with the model's tokenizer, no special tokens).</summary>
    public string AnswerMarker { get; init; } = "\nA:";

    // ---- batch and steps ----
    /// <summary>Sequences per micro-batch (per rank).</summary>
    public int MicroBatchSize { get; init; } = 8;
    /// <summary>Micro-batches accumulated per optimizer step.</summary>
    public int GradAccumSteps { get; init; } = 1;
    /// <summary>Optimizer steps in the run (the schedules' horizon).</summary>
    public int MaxSteps { get; init; } = 1000;

    // ---- optimizer ----
    /// <summary>muon (Muon for hidden matrices + AdamW for embeddings, head, norms) or adamw (AdamW on everything).</summary>
    public string Optimizer { get; init; } = "muon";
    /// <summary>AdamW learning rate (embeddings, head, norms; everything for optimizer=adamw).</summary>
    public double Lr { get; init; } = 5e-5;
    /// <summary>Muon learning rate (hidden matrices and the adapter).</summary>
    public double MuonLr { get; init; } = 1e-3;
    /// <summary>AdamW decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Muon decoupled weight decay.</summary>
    public double MuonWeightDecay { get; init; } = 1e-4;
    /// <summary>Global gradient-norm clip.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>LR warmup fraction of max_steps (WSD).</summary>
    public double Warmup { get; init; } = 0.0025;
    /// <summary>LR cosine-decay fraction of max_steps (WSD).</summary>
    public double Cooldown { get; init; } = 0.6;
    /// <summary>LR floor as a fraction of the peak.</summary>
    public double MinLrRatio { get; init; } = 0.001;

    // ---- recurrence ----
    /// <summary>Target mean recurrence r̄; 0 = the model's config mean_recurrence.</summary>
    public int MeanRecurrence { get; init; }
    /// <summary>Backprop depth s (iterations with gradient); 0 = the model's config mean_backprop_depth.</summary>
    public int BackpropDepth { get; init; }
    /// <summary>Mean-recurrence curriculum: none, linear or 1-sqrt.</summary>
    public string Curriculum { get; init; } = "1-sqrt";
    /// <summary>Curriculum warmup as a fraction of max_steps.</summary>
    public double CurriculumWarmup { get; init; } = 0.75;
    /// <summary>Backprop-depth curriculum (method.md §5.2): none or linear.</summary>
    public string BackpropCurriculum { get; init; } = "none";
    /// <summary>Backprop depth the depth curriculum starts from.</summary>
    public int BackpropCurriculumStart { get; init; } = 1;

    // ---- precision, seeds, threads ----
    /// <summary>fp32, or bf16-mixed (fp32 master weights, bf16 matmuls).</summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>Seed of the data order and the initial-state noise.</summary>
    public long Seed { get; init; } = 74;
    /// <summary>Torch threads; 0 = all cores.</summary>
    public int Threads { get; init; }

    // ---- logging, validation, checkpoints ----
    /// <summary>Validate every N steps (0 = only at the end).</summary>
    public int EvalEvery { get; init; } = 500;
    /// <summary>Recurrences at which validation loss is measured (recurrent models).</summary>
    public IReadOnlyList<int> ValRecurrences { get; init; } = [1, 2, 4, 8, 16, 32];
    /// <summary>Held-out micro-batches per validation (0 = all).</summary>
    public int ValBatches { get; init; } = 16;
    /// <summary>Checkpoint every N steps (0 = only the final model).</summary>
    public int SaveEvery { get; init; } = 1000;
    /// <summary>Checkpoints kept (the newest).</summary>
    public int KeepLast { get; init; } = 2;
    /// <summary>Stored dtype of final/: float32 or bfloat16.</summary>
    public string SaveDtype { get; init; } = "float32";
}
