using System.Text.Json.Nodes;

namespace Deepen.Evaluation.Tasks;

/// <summary>
/// The project's own worked example, used as the one exemplar when no <c>--fewshot-file</c> is given
/// (lm-eval's exemplars are not shipped). GSM8K-style: a few steps of arithmetic, then the answer in
/// each task's expected form.
/// </summary>
public static class DefaultExemplars
{
    /// <summary>The question.</summary>
    public const string Question =
        "A baker makes 24 muffins in the morning and 18 muffins in the afternoon. She sells 30 of them and gives 5 to her neighbours. How many muffins does she have left?";

    /// <summary>Chain-of-thought target ending "The answer is N." (for <c>gsm8k-cot</c>).</summary>
    public const string CotTarget =
        "The baker makes 24 + 18 = 42 muffins. She sells 30 and gives away 5, so 30 + 5 = 35 muffins leave the shop. She has 42 - 35 = 7 muffins left. The answer is 7.";

    /// <summary>GSM8K-solution target ending "#### N" (for plain <c>gsm8k</c>).</summary>
    public const string SolutionTarget =
        "The baker makes 24 + 18 = <<24+18=42>>42 muffins.\n30 + 5 = <<30+5=35>>35 muffins leave the shop.\nShe has 42 - 35 = <<42-35=7>>7 muffins left.\n#### 7";

    /// <summary>The chain-of-thought exemplar.</summary>
    public static IReadOnlyList<QaExemplar> Cot { get; } = [new(new JsonObject(), Question, CotTarget)];

    /// <summary>The solution-style exemplar.</summary>
    public static IReadOnlyList<QaExemplar> Solution { get; } = [new(new JsonObject(), Question, SolutionTarget)];
}
