using Deepen.Evaluation;
using Deepen.Evaluation.Tasks;

namespace Deepen.Tests.Evaluation;

/// <summary>A scripted model gives exactly the expected accuracies, stop strings cut generations, and batches are formed as asked.</summary>
public class GenerativeQaTaskTests
{
    /// <summary>
    /// Gold answers 5, 12, 7, 100. Strict (first "The answer is N.") is right on docs 0 and 2;
    /// flexible (last number) on docs 0, 1 and 3, but only because the text after "Q:" or "&lt;/s&gt;" is cut off.
    /// </summary>
    internal static string Answer(string prompt) =>
        prompt.Contains("Tom has 2 apples") ? " 2 + 3 = 5. The answer is 5.\n\nQ: What is 90 + 9? A: 99" :
        prompt.Contains("A box holds") ? " 4 * 3 = 12 eggs." :
        prompt.Contains("Sam had 10") ? " The answer is 7. But 8 are left." :
        prompt.Contains("A book costs") ? " It costs $100.</s>Q: 3" :
        throw new InvalidOperationException("unexpected prompt " + prompt);

    [Fact]
    public void ScriptedModelGivesExactAccuracyForBothMetrics()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path), NumFewshot = 0 });
        var model = new ScriptedModel(Answer);
        var run = EvalRunner.RunTask(task, model, recurrence: 4, batchSize: 3);

        var strict = run.Points.Single(p => p.Metric == GenerativeQaTask.StrictMetric);
        var flexible = run.Points.Single(p => p.Metric == GenerativeQaTask.FlexibleMetric);
        Assert.Equal(0.5, strict.Value);
        Assert.Equal(0.75, flexible.Value);
        // lm-eval's mean_stderr = sqrt(p(1-p)/(n-1)) for 0/1 scores.
        Assert.Equal(Math.Sqrt(0.25 / 3), strict.Stderr!.Value, 12);
        Assert.Equal(Math.Sqrt(0.1875 / 3), flexible.Stderr!.Value, 12);
        Assert.All(run.Points, p => Assert.Equal((4L, 4), (p.N, p.Recurrence)));

        Assert.Equal([1.0, 0, 1, 0], run.Samples.Select(s => s.Scores[GenerativeQaTask.StrictMetric]));
        Assert.Equal([1.0, 1, 0, 1], run.Samples.Select(s => s.Scores[GenerativeQaTask.FlexibleMetric]));
        Assert.Equal(["5", "[invalid]", "7.", "[invalid]"], run.Samples.Select(s => s.Extracted["strict-match"]));
        Assert.Equal(["5.", "12", "8", "$100."], run.Samples.Select(s => s.Extracted["flexible-extract"]));
        Assert.Equal(["5", "12", "7", "100"], run.Samples.Select(s => s.Gold));

        // Stop strings: the text from "Q:" / "</s>" on is gone from what was scored.
        Assert.Equal(" 2 + 3 = 5. The answer is 5.\n\n", run.Samples[0].Response);
        Assert.Equal(" It costs $100.", run.Samples[3].Response);

        // Tokens are counted on what the model generated (before cutting): words of the scripted answers.
        Assert.Equal(task.Docs.Sum(d => ScriptedModel.Words(Answer(task.PromptFor(d)))), run.TokensGenerated);

        // Batches of at most 3 prompts, all with the task's generation settings.
        Assert.Equal([3, 1], model.GenerateCalls.Select(c => c.Prompts.Count));
        Assert.All(model.GenerateCalls, c => Assert.Same(task.Generation, c.Request));
    }

    [Fact]
    public void WithoutStopStringsFlexibleWouldScoreDifferently()
    {
        // The same scoring on uncut text: doc 0's flexible answer becomes 99, doc 3's 3. Guards that the runner did cut.
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8kCot(new EvalTaskOptions { Data = EvalData.Test(tmp.Path), NumFewshot = 0 });
        var uncut = task.Docs.Select(d => task.ScoreOne(d, "", Answer(task.PromptFor(d)))).ToList();
        Assert.Equal([0.0, 1, 0, 0], uncut.Select(s => s.Scores[GenerativeQaTask.FlexibleMetric]));
    }

    [Fact]
    public void PlainGsm8kScoresHashAnswers()
    {
        using var tmp = new TestPaths.TempDir();
        var task = EvalTasks.Gsm8k(new EvalTaskOptions { Data = EvalData.Test(tmp.Path), NumFewshot = 0 });
        var run = EvalRunner.RunTask(task, new ScriptedModel(p => p.Contains("Tom has") ? " 2 + 3 = 5\n#### 5\n\nQuestion: x" : " 4 * 3 = 12\n#### 13"), 1);
        Assert.Equal(["5", "13", "13", "13"], run.Samples.Select(s => s.Extracted["strict-match"]));
        Assert.Equal(" 2 + 3 = 5\n#### 5\n\n", run.Samples[0].Response);
        Assert.All(run.Points, p => Assert.Equal(0.25, p.Value)); // only doc 0 (gold 5) is right
    }

    [Fact]
    public void QaJsonlComparesNumbersNumerically()
    {
        using var tmp = new TestPaths.TempDir();
        var data = EvalData.Jsonl(tmp["svamp.jsonl"],
            new System.Text.Json.Nodes.JsonObject { ["Body"] = "Jack has 8 pens.", ["Question"] = "He gives away 3. How many are left?", ["Answer"] = System.Text.Json.Nodes.JsonNode.Parse("5.0") },
            new System.Text.Json.Nodes.JsonObject { ["Body"] = "A bag has 6 balls.", ["Question"] = "How many in 2 bags?", ["Answer"] = System.Text.Json.Nodes.JsonNode.Parse("12.0") });
        var options = new EvalTaskOptions
        {
            Data = data, Fields = new QaFields(Question: "Question", Answer: "Answer"), PromptTemplate = "Question: {Body} {question}\nAnswer:",
        };
        var model = new ScriptedModel(p => p.Contains("Jack") ? " The answer is 5." : " The answer is 13.");
        Assert.Equal(0.5, EvalRunner.RunTask(EvalTasks.QaJsonl(options), model, 1).Points.Single(p => p.Metric == GenerativeQaTask.StrictMetric).Value);
        Assert.Equal(0.0, EvalRunner.RunTask(EvalTasks.QaJsonl(options with { NumericMatch = false }), model, 1).Points.Single(p => p.Metric == GenerativeQaTask.StrictMetric).Value);
    }

    [Fact]
    public void QaJsonlGoldPatternAndMissingFieldsAreReported()
    {
        using var tmp = new TestPaths.TempDir();
        var data = EvalData.Jsonl(tmp["d.jsonl"], new System.Text.Json.Nodes.JsonObject { ["q"] = "What is 6 * 7?", ["a"] = "Answer: 42 (six sevens)" });
        var docs = QaDataset.Load(data, new QaFields(Question: "q", Answer: "a", GoldPattern: @"Answer: (\d+)"));
        Assert.Equal("42", docs[0].Gold);

        var missing = Assert.Throws<DeepenException>(() => QaDataset.Load(data));
        Assert.Contains("d.jsonl:1: field 'question' is missing", missing.Message);
        Assert.Contains("'q'", missing.Message);

        var nomatch = Assert.Throws<DeepenException>(() => QaDataset.Load(data, new QaFields("q", "a", GoldPattern: "#### (\\d+)")));
        Assert.Contains("does not match", nomatch.Message);
    }
}
