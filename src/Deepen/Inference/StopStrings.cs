namespace Deepen.Inference;

/// <summary>Cutting generated text at stop strings, as lm-eval's <c>generate_until</c> does after decoding.</summary>
public static class StopStrings
{
    /// <summary>
    /// The text before the earliest occurrence of any non-empty stop string (lm-eval applies
    /// <c>s.split(term)[0]</c> for each term, which is the same thing); the whole text when none occurs.
    /// </summary>
    public static string Truncate(string text, IReadOnlyList<string> stops)
    {
        int cut = text.Length;
        foreach (var stop in stops)
        {
            if (stop.Length == 0) continue;
            int at = text.IndexOf(stop, 0, cut, StringComparison.Ordinal);
            if (at >= 0) cut = at;
        }
        return cut == text.Length ? text : text[..cut];
    }

    /// <summary>The index where the earliest stop string starts in <paramref name="text"/>, or -1.</summary>
    public static int FindFirst(string text, IReadOnlyList<string> stops)
    {
        var cut = Truncate(text, stops);
        return cut.Length == text.Length ? -1 : cut.Length;
    }
}
