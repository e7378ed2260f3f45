using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Deepen.Evaluation.Tasks;

/// <summary>
/// How lm-eval assembles a few-shot prompt: for each exemplar
/// <c>doc_to_text(exemplar) + TargetDelimiter + target + FewshotDelimiter</c>, then <c>doc_to_text(test doc)</c>.
/// </summary>
/// <param name="Template">
/// <c>doc_to_text</c>: <c>{question}</c> stands for the question field; any other <c>{name}</c> for the
/// row's field <c>name</c> (e.g. SVAMP's <c>"Question: {Body} {Question}\nAnswer:"</c>).
/// </param>
/// <param name="TargetDelimiter">Between an exemplar's text and its target (lm-eval: a space).</param>
/// <param name="FewshotDelimiter">After each exemplar (lm-eval: a blank line).</param>
public sealed record QaPromptFormat(string Template, string TargetDelimiter = " ", string FewshotDelimiter = "\n\n")
{
    /// <summary>lm-eval's <c>gsm8k-cot</c> as the paper ran it (<c>gsm8k_cot_sean</c>).</summary>
    public static QaPromptFormat Gsm8kCot { get; } = new("Q: {question}\nA: Let's think step by step.");

    /// <summary>lm-eval's plain <c>gsm8k</c>.</summary>
    public static QaPromptFormat Gsm8k { get; } = new("Question: {question}\nAnswer:");

    private static readonly Regex Placeholder = new(@"\{([A-Za-z0-9_\-\.]+)\}", RegexOptions.CultureInvariant);

    /// <summary>The whole prompt for <paramref name="question"/> (its row supplies other placeholders) after the given exemplars.</summary>
    public string Build(IReadOnlyList<QaExemplar> shots, string question, JsonObject row)
    {
        var sb = new StringBuilder();
        foreach (var s in shots)
            sb.Append(Render(s.Question, s.Row)).Append(TargetDelimiter).Append(s.Target).Append(FewshotDelimiter);
        sb.Append(Render(question, row));
        return sb.ToString();
    }

    /// <summary><c>doc_to_text</c> for one row.</summary>
    public string Render(string question, JsonObject row) =>
        Placeholder.Replace(Template, m =>
        {
            var name = m.Groups[1].Value;
            if (name == "question") return question;
            var node = row[name] ?? throw new DeepenException(
                $"prompt template \"{Template}\": the row has no field '{name}' (it has {string.Join(", ", row.Select(p => $"'{p.Key}'"))}).");
            return node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
        });
}
