using Deepen.Evaluation;
using Deepen.Evaluation.Tasks;

namespace Deepen.Tests.Evaluation;

/// <summary>The real GSM8K test split (shared data, not committed): every gold answer parses, and the paper's prompt builds from the real exemplars.</summary>
public class Gsm8kSharedDataTests
{
    [SharedDataFact("gsm8k/test.jsonl")]
    public void AllTestGoldAnswersParseToNumbers()
    {
        var docs = QaDataset.Load(SharedData.PathOf("gsm8k/test.jsonl"));
        Assert.Equal(1319, docs.Count);
        var bad = docs.Where(d => !AnswerExtraction.TryParseNumber(AnswerExtraction.Normalize(d.Gold), out _)).Select(d => $"{d.Index}: {d.Gold}").ToList();
        Assert.True(bad.Count == 0, "unparsable gold answers: " + string.Join("; ", bad.Take(5)));
        Assert.Equal("18", docs[0].Gold); // Janet's ducks
    }

    [SharedDataFact("gsm8k/test.jsonl", "gsm8k/cot-exemplars.jsonl")]
    public void PaperPromptUsesTheFirstLmEvalExemplar()
    {
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions
        {
            Data = SharedData.PathOf("gsm8k/test.jsonl"), FewshotFile = SharedData.PathOf("gsm8k/cot-exemplars.jsonl"), Limit = 3,
        });
        var prompt = ((GenerateUntilRequest)task.BuildRequests()[0]).Prompt;
        Assert.StartsWith("Q: There are 15 trees in the grove.", prompt);
        Assert.Contains("The answer is 6.\n\nQ: Janet\u2019s ducks lay 16 eggs per day.", prompt);
        Assert.EndsWith("farmers' market?\nA: Let's think step by step.", prompt);
        Assert.Equal(3, task.Count);
        // All eight exemplars are usable as k = 8.
        Assert.Equal(8, EvalTasks.Gsm8kCot(new EvalTaskOptions
        {
            Data = SharedData.PathOf("gsm8k/test.jsonl"), FewshotFile = SharedData.PathOf("gsm8k/cot-exemplars.jsonl"), NumFewshot = 8, Limit = 1,
        }).PromptFor(task.Docs[0]).Split("\nA: Let's think step by step. ").Length - 1);
    }
}
