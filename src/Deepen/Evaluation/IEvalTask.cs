namespace Deepen.Evaluation;

/// <summary>
/// An evaluation task (nanochat's <c>Task</c>, lm-eval's <c>ConfigurableTask</c>): it yields model
/// requests for its documents, then turns the model's responses into scored samples. It never calls
/// the model itself, so <see cref="EvalRunner"/> can batch, time and cache the calls, and a test can
/// check prompts and scoring without a model.
/// </summary>
public interface IEvalTask
{
    /// <summary>The task's name in reports (e.g. <c>gsm8k-cot</c>).</summary>
    string Name { get; }

    /// <summary>The metrics each sample is scored on, in report column order (e.g. <c>exact_match,flexible-extract</c>).</summary>
    IReadOnlyList<string> Metrics { get; }

    /// <summary>The documents being evaluated (after <c>--limit</c>); one sample each.</summary>
    int Count { get; }

    /// <summary>Every request the task needs, grouped by document in document order. Deterministic.</summary>
    IReadOnlyList<EvalRequest> BuildRequests();

    /// <summary>
    /// Scores the responses to <see cref="BuildRequests"/> (same order, one per request) into one
    /// sample per document, each with a score for every metric in <see cref="Metrics"/>.
    /// </summary>
    IReadOnlyList<EvalSample> Score(IReadOnlyList<EvalResponse> responses);
}

/// <summary>A request to the model on behalf of document <see cref="Doc"/> (its index in the task's data file).</summary>
public abstract record EvalRequest(int Doc);

/// <summary>Generate from <see cref="Prompt"/> until a stop string (lm-eval's <c>generate_until</c>).</summary>
public sealed record GenerateUntilRequest(int Doc, string Prompt, GenerationRequest Options) : EvalRequest(Doc);

/// <summary>The log-likelihood of <see cref="Continuation"/> after <see cref="Context"/> (lm-eval's <c>loglikelihood</c>).</summary>
public sealed record LogLikelihoodRequest(int Doc, string Context, string Continuation) : EvalRequest(Doc);

/// <summary>The model's answer to one request: a generation (already cut at the stop strings) or a log-likelihood.</summary>
public sealed record EvalResponse(EvalRequest Request, GenerationResult? Generation = null, LogLikelihoodResult? LogLikelihood = null)
{
    /// <summary>The generated text; throws if this response is not a generation.</summary>
    public string Text => Generation?.Text ?? throw new InvalidOperationException($"response to {Request.GetType().Name} has no generation");

    /// <summary>The log-likelihood; throws if this response is not one.</summary>
    public LogLikelihoodResult Scored => LogLikelihood ?? throw new InvalidOperationException($"response to {Request.GetType().Name} has no log-likelihood");
}

/// <summary>
/// One scored document, as written to <c>samples.jsonl</c> so every number in a report can be checked.
/// </summary>
/// <param name="Doc">Index of the document in the task's data file (0-based, blank lines not counted).</param>
/// <param name="Prompt">The prompt (or context) the model saw.</param>
/// <param name="Response">What the model produced (for multiple choice: the chosen continuation).</param>
/// <param name="Gold">The reference answer as the task reads it.</param>
/// <param name="Extracted">Per filter, what was extracted from the response (e.g. <c>strict-match</c> → "18").</param>
/// <param name="Scores">Per metric, this sample's score (1 correct, 0 wrong for accuracies).</param>
/// <param name="Extra">Task-specific details (e.g. each choice's log-likelihood), or null.</param>
public sealed record EvalSample(
    int Doc,
    string Prompt,
    string Response,
    string Gold,
    IReadOnlyDictionary<string, string> Extracted,
    IReadOnlyDictionary<string, double> Scores,
    System.Text.Json.Nodes.JsonObject? Extra = null);
