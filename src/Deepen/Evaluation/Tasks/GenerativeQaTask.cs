using System.Text.RegularExpressions;

namespace Deepen.Evaluation.Tasks;

/// <summary>
/// A question-answering task scored on generated text, as lm-eval's GSM8K tasks are: one greedy
/// generation per question, two filters (<c>strict-match</c>: first match of a task-specific
/// pattern; <c>flexible-extract</c>: last number) and exact match against the gold answer. The
/// <c>gsm8k-cot</c>, <c>gsm8k</c> and <c>qa-jsonl</c> tasks are configurations of this class
/// (see <see cref="EvalTasks"/>).
/// </summary>
public sealed class GenerativeQaTask : IEvalTask
{
    /// <summary>Metric of the first-match filter.</summary>
    public const string StrictMetric = "exact_match,strict-match";
    /// <summary>Metric of the last-number filter (the one the paper reports).</summary>
    public const string FlexibleMetric = "exact_match,flexible-extract";

    private readonly IReadOnlyList<QaDoc> _docs;
    private readonly IReadOnlyList<QaExemplar> _shots;
    private readonly QaPromptFormat _format;
    private readonly Regex _strict;
    private readonly Regex _flexible;
    private readonly bool _numeric;

    /// <param name="name">Task name in reports.</param>
    /// <param name="docs">The documents to evaluate (already selected).</param>
    /// <param name="shots">The few-shot exemplars, in prompt order (already cut to k).</param>
    /// <param name="format">How to assemble the prompt.</param>
    /// <param name="generation">Stop strings and token budget.</param>
    /// <param name="strictPattern">The strict filter's regex (first match).</param>
    /// <param name="flexiblePattern">The flexible filter's regex (last match); lm-eval's by default.</param>
    /// <param name="numericMatch">Also count numerically equal answers ("8" vs "8.0") as correct (not lm-eval's rule).</param>
    public GenerativeQaTask(string name, IReadOnlyList<QaDoc> docs, IReadOnlyList<QaExemplar> shots, QaPromptFormat format,
        GenerationRequest generation, string strictPattern, string flexiblePattern = AnswerExtraction.FlexiblePattern, bool numericMatch = false)
    {
        Name = name;
        _docs = docs;
        _shots = shots;
        _format = format;
        Generation = generation;
        _strict = QaDataset.ParsePattern(strictPattern, "strict pattern");
        _flexible = QaDataset.ParsePattern(flexiblePattern, "flexible pattern");
        _numeric = numericMatch;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> Metrics { get; } = [StrictMetric, FlexibleMetric];

    /// <inheritdoc/>
    public int Count => _docs.Count;

    /// <summary>The generation settings every request uses.</summary>
    public GenerationRequest Generation { get; }

    /// <summary>The documents being evaluated.</summary>
    public IReadOnlyList<QaDoc> Docs => _docs;

    /// <summary>The prompt for one document.</summary>
    public string PromptFor(QaDoc doc) => _format.Build(_shots, doc.Question, doc.Row);

    /// <inheritdoc/>
    public IReadOnlyList<EvalRequest> BuildRequests() =>
        _docs.Select(d => (EvalRequest)new GenerateUntilRequest(d.Index, PromptFor(d), Generation)).ToList();

    /// <inheritdoc/>
    public IReadOnlyList<EvalSample> Score(IReadOnlyList<EvalResponse> responses)
    {
        if (responses.Count != _docs.Count)
            throw new ArgumentException($"{Name}: {responses.Count} responses for {_docs.Count} documents.", nameof(responses));
        return _docs.Select((doc, i) => ScoreOne(doc, ((GenerateUntilRequest)responses[i].Request).Prompt, responses[i].Text)).ToList();
    }

    /// <summary>Scores one response against one document with both filters.</summary>
    public EvalSample ScoreOne(QaDoc doc, string prompt, string response)
    {
        var strict = AnswerExtraction.Extract(response, _strict, AnswerExtraction.Select.First);
        var flexible = AnswerExtraction.Extract(response, _flexible, AnswerExtraction.Select.Last);
        return new EvalSample(doc.Index, prompt, response, doc.Gold,
            new Dictionary<string, string> { ["strict-match"] = strict, ["flexible-extract"] = flexible },
            new Dictionary<string, double> { [StrictMetric] = Correct(strict, doc.Gold), [FlexibleMetric] = Correct(flexible, doc.Gold) });
    }

    private double Correct(string prediction, string gold) =>
        (_numeric ? AnswerExtraction.NumericMatch(prediction, gold) : AnswerExtraction.ExactMatch(prediction, gold)) ? 1.0 : 0.0;
}
