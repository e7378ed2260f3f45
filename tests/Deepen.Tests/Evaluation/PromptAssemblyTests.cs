using Deepen.Evaluation;
using Deepen.Evaluation.Tasks;
using Deepen.Inference;

namespace Deepen.Tests.Evaluation;

/// <summary>Prompts equal, byte for byte, what lm-eval assembles for gsm8k-cot (the paper's prompt) and plain gsm8k.</summary>
public class PromptAssemblyTests
{
    private const string Q0 = "Tom has 2 apples and buys 3 more. How many apples does he have?";

    private static string FirstPrompt(IEvalTask task) => ((GenerateUntilRequest)task.BuildRequests()[0]).Prompt;

    [Theory]
    [InlineData(0, "Q: " + Q0 + "\nA: Let's think step by step.")]
    [InlineData(1, "Q: Ann has 1 pen and gets 1 more. How many pens?\nA: Let's think step by step. Ann has 1 + 1 = 2 pens. The answer is 2.\n\n" +
                   "Q: " + Q0 + "\nA: Let's think step by step.")]
    [InlineData(2, "Q: Ann has 1 pen and gets 1 more. How many pens?\nA: Let's think step by step. Ann has 1 + 1 = 2 pens. The answer is 2.\n\n" +
                   "Q: Bo reads 6 pages a day for 2 days. How many pages?\nA: Let's think step by step. Bo reads 6 * 2 = 12 pages. The answer is 12.\n\n" +
                   "Q: " + Q0 + "\nA: Let's think step by step.")]
    public void Gsm8kCotPromptIsExact(int k, string expected)
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path), FewshotFile = EvalData.Shots(tmp.Path), NumFewshot = k });
        Assert.Equal(expected, FirstPrompt(task));
    }

    [Fact]
    public void Gsm8kCotDefaultsToOneBuiltInExemplarAndLmEvalGeneration()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path) });
        Assert.Equal("Q: " + DefaultExemplars.Question + "\nA: Let's think step by step. " + DefaultExemplars.CotTarget + "\n\n" +
                     "Q: " + Q0 + "\nA: Let's think step by step.", FirstPrompt(task));
        Assert.EndsWith("The answer is 7.", DefaultExemplars.CotTarget);
        Assert.Equal(["Q:", "</s>", "<|im_end|>"], task.Generation.StopStrings);
        Assert.Equal(256, task.Generation.MaxNewTokens);
        Assert.True(task.Generation.StopAtEos && task.Generation.Greedy);
        Assert.Equal(4, task.Count);
    }

    [Fact]
    public void Gsm8kCotRejectsMoreExemplarsThanTheFileHas()
    {
        using var tmp = new TestPaths.TempDir();
        var e = Assert.Throws<DeepenException>(() =>
            EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path), FewshotFile = EvalData.Shots(tmp.Path), NumFewshot = 3 }));
        Assert.Contains("num_fewshot 3", e.Message);
        Assert.Contains("has 2 exemplar(s)", e.Message);
    }

    [Fact]
    public void Gsm8kPlainUsesFirstTrainingSolutions()
    {
        using var tmp = new TestPaths.TempDir();
        var test = EvalData.Test(tmp.Path);
        EvalData.Jsonl(tmp["train.jsonl"],
            EvalData.Qa("T1?", "1 + 1 = <<1+1=2>>2\n#### 2"), EvalData.Qa("T2?", "2 * 2 = <<2*2=4>>4\n#### 4"), EvalData.Qa("T3?", "#### 9"));
        var task = EvalTasks.Gsm8k(new EvalTaskOptions { Data = test, NumFewshot = 2 });
        Assert.Equal("Question: T1?\nAnswer: 1 + 1 = <<1+1=2>>2\n#### 2\n\nQuestion: T2?\nAnswer: 2 * 2 = <<2*2=4>>4\n#### 4\n\n" +
                     "Question: " + Q0 + "\nAnswer:", FirstPrompt(task));
        Assert.Equal(["Question:", "</s>", "<|im_end|>"], task.Generation.StopStrings);
        Assert.Equal("Question: " + Q0 + "\nAnswer:", FirstPrompt(EvalTasks.Gsm8k(new EvalTaskOptions { Data = test, NumFewshot = 0 })));
    }

    [Fact]
    public void Gsm8kPlainWithoutTrainingDataExplainsWhatIsMissing()
    {
        using var tmp = new TestPaths.TempDir();
        var e = Assert.Throws<DeepenException>(() => EvalTasks.Gsm8k(new EvalTaskOptions { Data = EvalData.Test(tmp.Path) }));
        Assert.Contains("5-shot", e.Message);
        Assert.Contains("`fewshot_file`", e.Message);
        var one = EvalTasks.Gsm8k(new EvalTaskOptions { Data = tmp["test.jsonl"], NumFewshot = 1 });
        Assert.StartsWith("Question: " + DefaultExemplars.Question + "\nAnswer: " + DefaultExemplars.SolutionTarget + "\n\n", FirstPrompt(one));
    }

    [Fact]
    public void QaJsonlTemplateUsesConfiguredFields()
    {
        using var tmp = new TestPaths.TempDir();
        var data = EvalData.Jsonl(tmp["svamp.jsonl"],
            new System.Text.Json.Nodes.JsonObject { ["Body"] = "Jack has 8 pens.", ["Question"] = "He gives away 3. How many are left?", ["Answer"] = System.Text.Json.Nodes.JsonNode.Parse("5.0") });
        var task = EvalTasks.QaJsonl(new EvalTaskOptions
        {
            Data = data, Fields = new QaFields(Question: "Question", Answer: "Answer"), PromptTemplate = "Question: {Body} {question}\nAnswer:",
        });
        Assert.Equal("Question: Jack has 8 pens. He gives away 3. How many are left?\nAnswer:", FirstPrompt(task));
        Assert.Equal(["Question:", "</s>", "<|im_end|>"], task.Generation.StopStrings);
        Assert.Equal("5.0", task.Docs[0].Gold);
        var e = Assert.Throws<DeepenException>(() => EvalTasks.QaJsonl(new EvalTaskOptions { Data = data, Fields = new QaFields("Question", "Answer"), NumFewshot = 2 }));
        Assert.Contains("num_fewshot 2: no exemplars; pass `fewshot_file`", e.Message);
    }
}
