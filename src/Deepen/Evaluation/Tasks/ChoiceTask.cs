using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deepen.Evaluation.Tasks;

/// <summary>What <c>acc_norm</c> divides each choice's log-likelihood by.</summary>
public enum ChoiceLength
{
    /// <summary>
    /// Characters (Unicode code points) of the choice string without its leading delimiter: what
    /// lm-eval's code computes (<c>len(choice)</c>), although its documentation calls it byte length.
    /// </summary>
    Chars,
    /// <summary>UTF-8 bytes of the choice string; equals <see cref="Chars"/> for ASCII text.</summary>
    Bytes,
}

/// <summary>Which JSONL fields hold a multiple-choice row's parts.</summary>
/// <param name="Context">The text before the answer.</param>
/// <param name="Choices">An array of answer strings.</param>
/// <param name="Label">The correct choice: its 0-based index (a number or a numeric string), or its exact text.</param>
public sealed record ChoiceFields(string Context = "context", string Choices = "choices", string Label = "label");

/// <summary>One multiple-choice question.</summary>
public sealed record ChoiceDoc(int Index, string Context, IReadOnlyList<string> Choices, int Label);

/// <summary>
/// Multiple choice by log-likelihood, as lm-eval's <c>multiple_choice</c> output type: one request per
/// choice with continuation <c>delimiter + choice</c>; <c>acc</c> is the argmax of the summed
/// log-likelihoods, <c>acc_norm</c> the argmax after dividing each by the choice's length (ties go to the
/// first, like <c>np.argmax</c>).
/// </summary>
public sealed class ChoiceTask : IEvalTask
{
    private readonly IReadOnlyList<ChoiceDoc> _docs;
    private readonly string _delimiter;
    private readonly ChoiceLength _length;

    /// <param name="name">Task name in reports.</param>
    /// <param name="docs">Questions to evaluate (already selected).</param>
    /// <param name="delimiter">Between context and choice (lm-eval's <c>target_delimiter</c>, a space).</param>
    /// <param name="length">The unit of <c>acc_norm</c>'s length normalisation.</param>
    public ChoiceTask(string name, IReadOnlyList<ChoiceDoc> docs, string delimiter = " ", ChoiceLength length = ChoiceLength.Chars)
    {
        Name = name;
        _docs = docs;
        _delimiter = delimiter;
        _length = length;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> Metrics { get; } = ["acc", "acc_norm"];

    /// <inheritdoc/>
    public int Count => _docs.Count;

    /// <inheritdoc/>
    public IReadOnlyList<EvalRequest> BuildRequests() =>
        _docs.SelectMany(d => d.Choices.Select(c => (EvalRequest)new LogLikelihoodRequest(d.Index, d.Context, _delimiter + c))).ToList();

    /// <inheritdoc/>
    public IReadOnlyList<EvalSample> Score(IReadOnlyList<EvalResponse> responses)
    {
        int expected = _docs.Sum(d => d.Choices.Count);
        if (responses.Count != expected)
            throw new ArgumentException($"{Name}: {responses.Count} responses for {expected} choices.", nameof(responses));
        var samples = new List<EvalSample>(_docs.Count);
        int at = 0;
        foreach (var doc in _docs)
        {
            var lls = new double[doc.Choices.Count];
            var tokens = new int[doc.Choices.Count];
            for (int c = 0; c < lls.Length; c++, at++)
            {
                lls[c] = responses[at].Scored.LogProb;
                tokens[c] = responses[at].Scored.TokenCount;
            }
            samples.Add(ScoreOne(doc, lls, tokens));
        }
        return samples;
    }

    /// <summary>Scores one question from its choices' log-likelihoods.</summary>
    public EvalSample ScoreOne(ChoiceDoc doc, IReadOnlyList<double> lls, IReadOnlyList<int>? tokens = null)
    {
        var norm = lls.Select((ll, c) => ll / LengthOf(doc.Choices[c])).ToArray();
        int pred = ArgMax(lls), predNorm = ArgMax(norm);
        var extra = new JsonObject
        {
            ["loglikelihoods"] = new JsonArray(lls.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
            ["normalized"] = new JsonArray(norm.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
            ["choices"] = new JsonArray(doc.Choices.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()),
            ["pred"] = pred,
            ["pred_norm"] = predNorm,
            ["label"] = doc.Label,
        };
        if (tokens is not null) extra["tokens"] = new JsonArray(tokens.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        return new EvalSample(doc.Index, doc.Context, doc.Choices[pred], doc.Choices[doc.Label],
            new Dictionary<string, string> { ["acc"] = doc.Choices[pred], ["acc_norm"] = doc.Choices[predNorm] },
            new Dictionary<string, double> { ["acc"] = pred == doc.Label ? 1 : 0, ["acc_norm"] = predNorm == doc.Label ? 1 : 0 },
            extra);
    }

    private double LengthOf(string choice) => _length == ChoiceLength.Bytes ? TextLength.Utf8Bytes(choice) : TextLength.CodePoints(choice);

    private static int ArgMax(IReadOnlyList<double> xs)
    {
        int best = 0;
        for (int i = 1; i < xs.Count; i++) if (xs[i] > xs[best]) best = i;
        return best;
    }

    /// <summary>Loads multiple-choice JSONL; every choice must be a non-empty string and the label must name one.</summary>
    public static IReadOnlyList<ChoiceDoc> Load(string path, ChoiceFields? fields = null)
    {
        fields ??= new ChoiceFields();
        var rows = EvalJsonl.Read(path);
        var docs = new List<ChoiceDoc>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var where = $"{path}:{row.Line}";
            var context = EvalJsonl.Text(path, row, fields.Context);
            if (row.Json[fields.Choices] is not JsonArray arr || arr.Count < 2)
                throw new DeepenException($"{where}: field '{fields.Choices}' must be an array of at least two strings.");
            var choices = arr.Select(n => n?.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : null).ToList();
            if (choices.Any(string.IsNullOrEmpty))
                throw new DeepenException($"{where}: field '{fields.Choices}' must hold non-empty strings only (acc_norm divides by their length).");
            var label = EvalJsonl.Text(path, row, fields.Label);
            int index = int.TryParse(label, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var k)
                ? k : choices.IndexOf(label);
            if (index < 0 || index >= choices.Count)
                throw new DeepenException($"{where}: label {label} is neither an index below {choices.Count} nor the text of a choice.");
            docs.Add(new ChoiceDoc(i, context, choices!, index));
        }
        return docs;
    }
}
