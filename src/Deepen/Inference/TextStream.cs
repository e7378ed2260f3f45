using Deepen.Tokenization;

namespace Deepen.Inference;

/// <summary>
/// Turns a row's generated ids into text pieces as they arrive. Each push decodes the ids so far and hands out
/// only text that is final: an incomplete UTF-8 character (decoded as U+FFFD at the end) and any ending that
/// could be the start of a stop string are held back; once a stop string appears, the text before it is the
/// last piece.
/// </summary>
public sealed class TextStream(TextTokenizer? tokenizer, IReadOnlyList<string> stopStrings)
{
    private readonly List<int> ids = [];
    private string full = "";
    private int emitted;

    /// <summary>True once a stop string has appeared.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The text handed out so far.</summary>
    public string Text => full[..emitted];

    /// <summary>Adds a token; returns the text that became final (possibly empty).</summary>
    public string Push(int id)
    {
        ids.Add(id);
        if (tokenizer is null || Stopped) return "";
        full = tokenizer.Decode(ids);
        int stop = StopStrings.FindFirst(full, stopStrings);
        if (stop >= 0)
        {
            Stopped = true;
            return Take(Math.Max(stop, emitted));
        }
        return Take(full.Length - HeldBack(full));
    }

    /// <summary>At the end of the row (EOS, length): whatever was held back, unless a stop string ended it.</summary>
    public string Flush() => Stopped ? "" : Take(full.Length);

    private string Take(int upTo)
    {
        if (upTo > 0 && upTo < full.Length && char.IsHighSurrogate(full[upTo - 1])) upTo--;   // never split a pair
        if (upTo <= emitted) return "";
        var piece = full[emitted..upTo];
        emitted = upTo;
        return piece;
    }

    private int HeldBack(string text)
    {
        int replacement = 0;
        while (replacement < text.Length && text[text.Length - 1 - replacement] == '\uFFFD') replacement++;
        int prefix = 0;
        foreach (var stop in stopStrings)
            for (int n = Math.Min(stop.Length - 1, text.Length); n > prefix; n--)
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n))) { prefix = n; break; }
        return Math.Max(replacement, prefix);
    }
}
