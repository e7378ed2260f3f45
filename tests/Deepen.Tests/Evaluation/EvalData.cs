using System.Text.Json.Nodes;

namespace Deepen.Tests.Evaluation;

/// <summary>Small JSONL files for evaluation tests, written into a temp directory.</summary>
internal static class EvalData
{
    /// <summary>Writes rows as JSONL to <paramref name="path"/> and returns the path.</summary>
    public static string Jsonl(string path, params JsonObject[] rows)
    {
        File.WriteAllLines(path, rows.Select(r => r.ToJsonString()));
        return path;
    }

    public static JsonObject Qa(string question, string answer) => new() { ["question"] = question, ["answer"] = answer };

    public static JsonObject Shot(string question, string target) => new() { ["question"] = question, ["target"] = target };

    /// <summary>Four GSM8K-style test questions: gold answers 5, 12, 7, 100.</summary>
    public static string Test(string dir) => Jsonl(Path.Combine(dir, "test.jsonl"),
        Qa("Tom has 2 apples and buys 3 more. How many apples does he have?", "2 + 3 = <<2+3=5>>5\n#### 5"),
        Qa("A box holds 4 rows of 3 eggs. How many eggs are in the box?", "4 * 3 = <<4*3=12>>12\n#### 12"),
        Qa("Sam had 10 marbles and lost 3. How many are left?", "10 - 3 = <<10-3=7>>7\n#### 7"),
        Qa("A book costs $25. What do 4 books cost?", "25 * 4 = <<25*4=100>>100\n#### 100"));

    /// <summary>Two chain-of-thought exemplars.</summary>
    public static string Shots(string dir) => Jsonl(Path.Combine(dir, "shots.jsonl"),
        Shot("Ann has 1 pen and gets 1 more. How many pens?", "Ann has 1 + 1 = 2 pens. The answer is 2."),
        Shot("Bo reads 6 pages a day for 2 days. How many pages?", "Bo reads 6 * 2 = 12 pages. The answer is 12."));
}
