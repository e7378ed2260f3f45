using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Deepen.Evaluation;
using Deepen.Inference;

namespace Deepen.Tests.Evaluation;

/// <summary>
/// lm-eval's GSM8K filters and exact-match normalisation equal an independent reference in Python's
/// <c>re</c> (tests/fixtures/evaluation/lm_eval_extraction.py → extraction_cases.json).
/// </summary>
public class AnswerExtractionTests
{
    private static readonly Regex Cot = new(AnswerExtraction.CotStrictPattern);
    private static readonly Regex Hash = new(AnswerExtraction.HashStrictPattern);
    private static readonly Regex Flexible = new(AnswerExtraction.FlexiblePattern);

    private static JsonObject Fixture() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "evaluation", "extraction_cases.json")))!.AsObject();

    [Fact]
    public void FiltersAndScoresEqualPythonReference()
    {
        var cases = Fixture()["cases"]!.AsArray();
        Assert.True(cases.Count >= 20);
        foreach (var c in cases)
        {
            string text = c!["response"]!.GetValue<string>(), gold = c["gold"]!.GetValue<string>();
            var cot = AnswerExtraction.Extract(text, Cot, AnswerExtraction.Select.First);
            var flex = AnswerExtraction.Extract(text, Flexible, AnswerExtraction.Select.Last);
            Assert.True(c["cot_strict"]!.GetValue<string>() == cot, $"cot strict of {text}: want {c["cot_strict"]}, got {cot}");
            Assert.True(c["hash_strict"]!.GetValue<string>() == AnswerExtraction.Extract(text, Hash, AnswerExtraction.Select.First), $"hash strict of {text}");
            Assert.True(c["flexible"]!.GetValue<string>() == flex, $"flexible of {text}: want {c["flexible"]}, got {flex}");
            Assert.True(c["cot_strict_correct"]!.GetValue<bool>() == AnswerExtraction.ExactMatch(cot, gold), $"strict correctness of {text}");
            Assert.True(c["flexible_correct"]!.GetValue<bool>() == AnswerExtraction.ExactMatch(flex, gold), $"flexible correctness of {text}");
        }
    }

    [Fact]
    public void NormalizationEqualsPythonReference()
    {
        foreach (var g in Fixture()["normalize"]!.AsArray())
            Assert.Equal(g!["normalized"]!.GetValue<string>(), AnswerExtraction.Normalize(g["text"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("The answer is 1,234.", "1,234", "1,234.")]
    [InlineData("$5.00", AnswerExtraction.Invalid, "$5.00")]
    [InlineData("-3", AnswerExtraction.Invalid, "-3")]
    [InlineData("The answer is 18", "1", "18")]                // lm-eval's pattern needs one character after the number
    [InlineData("The answer is 7. The answer is 8.", "7.", "8.")] // first vs last; the final '.' of the pattern ate the space
    [InlineData("no number here", AnswerExtraction.Invalid, AnswerExtraction.Invalid)]
    [InlineData("3 apples and 12 pears make 15.", AnswerExtraction.Invalid, "15.")]
    public void NamedTrickyStrings(string text, string strict, string flexible)
    {
        Assert.Equal(strict, AnswerExtraction.Extract(text, Cot, AnswerExtraction.Select.First));
        Assert.Equal(flexible, AnswerExtraction.Extract(text, Flexible, AnswerExtraction.Select.Last));
    }

    [Theory]
    [InlineData("1,234.", "1234")]
    [InlineData("$5.00", "5.00")]
    [InlineData("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\n#### 72", "72")]
    [InlineData("#### 72", "72")]
    [InlineData("18.", "18")]
    [InlineData("ABC", "abc")]
    public void Normalize(string text, string expected) => Assert.Equal(expected, AnswerExtraction.Normalize(text));

    [Fact]
    public void GoldIsTextAfterLastHashes()
    {
        Assert.Equal("72", AnswerExtraction.GoldFromSolution("He makes 9 * 8 = <<9*8=72>>72.\n#### 72"));
        Assert.Equal("1,000", AnswerExtraction.GoldFromSolution("a #### b\n####  1,000 \n"));
        Assert.Equal("8.0", AnswerExtraction.GoldFromSolution(" 8.0 "));
        Assert.True(AnswerExtraction.ExactMatch("$1,000.", AnswerExtraction.GoldFromSolution("#### 1000")));
    }

    [Fact]
    public void NumericMatchAcceptsEqualNumbersOnly()
    {
        Assert.True(AnswerExtraction.NumericMatch("8", "8.0"));
        Assert.True(AnswerExtraction.NumericMatch("$1,200.", "1200.00"));
        Assert.False(AnswerExtraction.NumericMatch("8.5", "8"));
        Assert.False(AnswerExtraction.NumericMatch(AnswerExtraction.Invalid, "8"));
        Assert.False(AnswerExtraction.ExactMatch("8", "8.0"));
    }

    [Fact]
    public void StopStringsCutAtTheEarliestOccurrence()
    {
        string[] stops = ["Q:", "</s>", "<|im_end|>"];
        Assert.Equal(" 2 + 3 = 5. The answer is 5.\n\n", StopStrings.Truncate(" 2 + 3 = 5. The answer is 5.\n\nQ: next</s>", stops));
        Assert.Equal(" a", StopStrings.Truncate(" a</s> Q: b", stops));
        Assert.Equal(" a<|im_end", StopStrings.Truncate(" a<|im_end", stops));
        Assert.Equal("", StopStrings.Truncate("Q:", stops));
        Assert.Equal("x Q", StopStrings.Truncate("x Q", ["", "Q:"]));
        Assert.Equal(2, StopStrings.FindFirst("x Q: y", stops));
        Assert.Equal(-1, StopStrings.FindFirst("x y", stops));
    }
}
