using System.Globalization;
using System.Text.RegularExpressions;

namespace Deepen.Evaluation;

/// <summary>
/// lm-eval's answer filters and exact-match scoring for GSM8K-style tasks, reproduced exactly:
/// a regex filter (first or last match; with several groups the first non-empty one; stripped;
/// <c>[invalid]</c> when nothing matches), then <c>exact_match</c> with
/// <c>regexes_to_ignore = [",", "\$", "(?s).*#### ", "\.$"]</c> and <c>ignore_case = true</c>,
/// applied to prediction and gold alike.
/// </summary>
public static class AnswerExtraction
{
    /// <summary>lm-eval's <c>strict-match</c> for <c>gsm8k-cot</c>: the first "The answer is N." (the final <c>.</c> is any character).</summary>
    public const string CotStrictPattern = @"The answer is (\-?[0-9\.\,]+).";

    /// <summary>lm-eval's <c>strict-match</c> for plain <c>gsm8k</c>: the first "#### N".</summary>
    public const string HashStrictPattern = @"#### (\-?[0-9\.\,]+)";

    /// <summary>lm-eval's <c>flexible-extract</c>: the last number-like run.</summary>
    public const string FlexiblePattern = @"(-?[$0-9.,]{2,})|(-?[0-9]+)";

    /// <summary>What the filter yields when nothing matches (lm-eval's fallback).</summary>
    public const string Invalid = "[invalid]";

    private static readonly string[] IgnoredPatterns = [",", @"\$", "(?s).*#### ", @"\.$"];
    private static readonly Regex[] Ignored = IgnoredPatterns.Select(p => new Regex(p, RegexOptions.CultureInvariant)).ToArray();

    /// <summary>Which match a filter keeps.</summary>
    public enum Select { First, Last }

    /// <summary>
    /// lm-eval's <c>RegexFilter</c>: all matches of <paramref name="pattern"/>; keep the first or last;
    /// its first non-empty group (the whole match when the pattern has no group); stripped of whitespace.
    /// </summary>
    public static string Extract(string text, Regex pattern, Select select)
    {
        var matches = pattern.Matches(text);
        if (matches.Count == 0) return Invalid;
        var m = select == Select.First ? matches[0] : matches[^1];
        int groups = pattern.GetGroupNumbers().Length - 1;
        if (groups == 0) return m.Value.Trim();
        for (int g = 1; g <= groups; g++)
            if (m.Groups[g].Success && m.Groups[g].Length > 0) return m.Groups[g].Value.Trim();
        return Invalid;
    }

    /// <summary>
    /// The gold answer as lm-eval's GSM8K tasks take it from a solution: the text after the last
    /// <c>####</c>, stripped; the whole answer, stripped, when it has no <c>####</c>.
    /// </summary>
    public static string GoldFromSolution(string answer)
    {
        int at = answer.LastIndexOf("####", StringComparison.Ordinal);
        return (at < 0 ? answer : answer[(at + 4)..]).Trim();
    }

    /// <summary>lm-eval's exact-match normalisation: remove <c>,</c>, <c>$</c>, everything up to <c>#### </c>, a trailing <c>.</c>; lower-case.</summary>
    public static string Normalize(string s)
    {
        foreach (var r in Ignored) s = r.Replace(s, "");
        return s.ToLowerInvariant();
    }

    /// <summary>lm-eval's <c>exact_match</c> (with the GSM8K settings) of one prediction against one gold answer.</summary>
    public static bool ExactMatch(string prediction, string gold) => Normalize(prediction) == Normalize(gold);

    /// <summary>
    /// Exact match, or, when both normalised strings are numbers, numeric equality (so "8" matches "8.0").
    /// Not lm-eval's rule; offered for datasets whose answers are stored as floats.
    /// </summary>
    public static bool NumericMatch(string prediction, string gold)
    {
        string p = Normalize(prediction), g = Normalize(gold);
        if (p == g) return true;
        return TryParseNumber(p, out var a) && TryParseNumber(g, out var b) && a == b;
    }

    /// <summary>Parses a plain decimal number (optional sign, digits, one point) with the invariant culture.</summary>
    public static bool TryParseNumber(string s, out decimal value) =>
        decimal.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value);
}
