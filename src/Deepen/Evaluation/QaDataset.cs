using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Deepen.Evaluation;

/// <summary>Which JSONL fields hold a question-answer row's parts.</summary>
/// <param name="Question">The question text (<c>{question}</c> in a prompt template).</param>
/// <param name="Answer">The answer: a worked solution ending in <c>#### N</c> (GSM8K) or just the answer.</param>
/// <param name="Target">For few-shot exemplars: the text shown after the question (lm-eval's <c>target</c>); when a row lacks it, the answer field is used.</param>
/// <param name="GoldPattern">
/// A regex that finds the gold answer in the answer field (group 1, or the whole match when it has no group).
/// When null, lm-eval's GSM8K rule: the text after the last <c>####</c>, or the whole answer when there is none.
/// </param>
public sealed record QaFields(string Question = "question", string Answer = "answer", string Target = "target", string? GoldPattern = null);

/// <summary>One question to be answered, with its gold answer.</summary>
/// <param name="Index">Position in the data file (0-based, among non-blank lines).</param>
/// <param name="Row">The whole JSON row (prompt templates may use any of its fields).</param>
public sealed record QaDoc(int Index, JsonObject Row, string Question, string Answer, string Gold);

/// <summary>A few-shot exemplar: question and the target text that follows it in the prompt.</summary>
public sealed record QaExemplar(JsonObject Row, string Question, string Target);

/// <summary>Loads question-answer JSONL (GSM8K's <c>question</c>/<c>answer</c>, or any fields named by <see cref="QaFields"/>).</summary>
public static class QaDataset
{
    /// <summary>Every row of <paramref name="path"/> as a question with its gold answer.</summary>
    public static IReadOnlyList<QaDoc> Load(string path, QaFields? fields = null)
    {
        fields ??= new QaFields();
        var gold = fields.GoldPattern is null ? null : ParsePattern(fields.GoldPattern, "gold pattern");
        var rows = EvalJsonl.Read(path);
        var docs = new List<QaDoc>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var question = EvalJsonl.Text(path, row, fields.Question);
            var answer = EvalJsonl.Text(path, row, fields.Answer);
            docs.Add(new QaDoc(i, row.Json, question, answer, GoldOf(answer, gold, path, row.Line)));
        }
        return docs;
    }

    /// <summary>Exemplars from <paramref name="path"/>: the target field when a row has it, else the answer field.</summary>
    public static IReadOnlyList<QaExemplar> LoadExemplars(string path, QaFields? fields = null)
    {
        fields ??= new QaFields();
        var rows = EvalJsonl.Read(path);
        return rows.Select(r => new QaExemplar(r.Json, EvalJsonl.Text(path, r, fields.Question),
            EvalJsonl.Text(path, r, r.Json.ContainsKey(fields.Target) ? fields.Target : fields.Answer))).ToList();
    }

    /// <summary>The gold answer in <paramref name="answer"/>: by <paramref name="pattern"/>, or lm-eval's text-after-<c>####</c> rule.</summary>
    public static string GoldOf(string answer, Regex? pattern, string path = "", int line = 0)
    {
        if (pattern is null) return AnswerExtraction.GoldFromSolution(answer);
        var m = pattern.Match(answer);
        if (!m.Success)
            throw new DeepenException($"{path}:{line}: the gold pattern /{pattern}/ does not match the answer \"{Shorten(answer)}\".");
        return (m.Groups.Count > 1 ? m.Groups[1].Value : m.Value).Trim();
    }

    /// <summary>Compiles a user-given regex, naming it in the error when it is invalid.</summary>
    public static Regex ParsePattern(string pattern, string what)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant); }
        catch (ArgumentException e) { throw new DeepenException($"{what} /{pattern}/ is not a valid regular expression ({e.Message}).", e); }
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
