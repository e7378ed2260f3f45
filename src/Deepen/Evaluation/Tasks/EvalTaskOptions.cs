using Deepen.Inference;

namespace Deepen.Evaluation.Tasks;

/// <summary>
/// Everything that configures a task, named like the <c>eval</c> verb's flags and config keys.
/// Null means "the task's default" (for the paper's tasks, lm-eval's value).
/// </summary>
public sealed record EvalTaskOptions
{
    /// <summary>The evaluation data (JSONL).</summary>
    public required string Data { get; init; }

    /// <summary>Few-shot exemplars (JSONL with the question field and <c>target</c> or the answer field).</summary>
    public string? FewshotFile { get; init; }

    /// <summary>Training JSONL for plain <c>gsm8k</c>'s first-k exemplars; default: <c>train.jsonl</c> beside <see cref="Data"/>, if present.</summary>
    public string? TrainFile { get; init; }

    /// <summary>Exemplars per prompt (gsm8k-cot 1, as the paper ran it; gsm8k 5; qa-jsonl 0).</summary>
    public int? NumFewshot { get; init; }

    /// <summary>Evaluate at most this many documents.</summary>
    public int? Limit { get; init; }

    /// <summary>With <see cref="Limit"/>: choose the documents by a seeded shuffle instead of taking the first ones.</summary>
    public int? Seed { get; init; }

    /// <summary>Token budget per generation (lm-eval's <c>max_gen_toks</c>).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>qa-jsonl: the question-answer fields and gold pattern.</summary>
    public QaFields Fields { get; init; } = new();

    /// <summary>qa-jsonl: <c>doc_to_text</c> (default <c>"Question: {question}\nAnswer:"</c>).</summary>
    public string? PromptTemplate { get; init; }

    /// <summary>qa-jsonl: the strict filter (default lm-eval's "The answer is N." pattern).</summary>
    public string? StrictPattern { get; init; }

    /// <summary>qa-jsonl: stop strings (default <c>"Question:", "</s>", "&lt;|im_end|&gt;"</c> and the prompt's first word followed by ':' if different).</summary>
    public IReadOnlyList<string>? StopStrings { get; init; }

    /// <summary>qa-jsonl: count numerically equal answers as correct ("8" vs "8.0"); default true for qa-jsonl, never for the GSM8K tasks.</summary>
    public bool? NumericMatch { get; init; }

    /// <summary>choice: the multiple-choice fields.</summary>
    public ChoiceFields ChoiceFields { get; init; } = new();

    /// <summary>choice: <c>acc_norm</c>'s length unit.</summary>
    public ChoiceLength ChoiceLength { get; init; } = ChoiceLength.Chars;
}
