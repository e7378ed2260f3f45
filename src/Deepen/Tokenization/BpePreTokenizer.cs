using System.Globalization;
using System.Text;

namespace Deepen.Tokenization;

/// <summary>
/// The pre-tokenizer of the trained BPE tokenizers, in C#: exactly HF's
/// <c>Sequence[Split(\p{N}, Isolated), ByteLevel(use_regex)]</c>. Every numeric character is its own piece
/// (so digits are never merged); the rest is split by GPT-2's pattern
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>:
/// words with their leading space, punctuation runs with theirs, whitespace runs leaving their last
/// character to the next word. Implemented as a scanner over code points rather than a regex.
/// </summary>
public static class BpePreTokenizer
{
    private static readonly string[] Contractions = ["s", "t", "re", "ve", "m", "ll", "d"];

    /// <summary>Appends the (start, length) of every piece of <paramref name="text"/>, in order, covering it exactly.</summary>
    public static void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        for (int i = 0; i < text.Length;)
        {
            int end = PieceEnd(text, i);
            pieces.Add((i, end - i));
            i = end;
        }
    }

    private enum Kind { Letter, Number, Space, Other }

    private static Kind KindAt(ReadOnlySpan<char> s, int i, out int width)
    {
        if (Rune.DecodeFromUtf16(s[i..], out var rune, out width) != System.Buffers.OperationStatus.Done) return Kind.Other;
        if (Rune.IsWhiteSpace(rune)) return Kind.Space;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
    }

    /// <summary>End of the run of characters of <paramref name="kind"/> starting at <paramref name="i"/>.</summary>
    private static int RunEnd(ReadOnlySpan<char> s, int i, Kind kind)
    {
        while (i < s.Length && KindAt(s, i, out int w) == kind) i += w;
        return i;
    }

    /// <summary>
    /// End of the piece that starts at <paramref name="i"/>. A numeric character is a piece of its own and,
    /// because the Split step runs first, acts as the end of the text for the GPT-2 pattern around it.
    /// </summary>
    private static int PieceEnd(ReadOnlySpan<char> s, int i)
    {
        var kind = KindAt(s, i, out int width);
        if (kind == Kind.Number) return i + width;
        if (s[i] == '\'')
            foreach (var c in Contractions)
                if (s[(i + 1)..].StartsWith(c, StringComparison.Ordinal)) return i + 1 + c.Length;
        if (s[i] == ' ' && i + 1 < s.Length)
        {
            var next = KindAt(s, i + 1, out _);
            if (next is Kind.Letter or Kind.Other) return RunEnd(s, i + 1, next);
        }
        if (kind is Kind.Letter or Kind.Other) return RunEnd(s, i, kind);
        // Whitespace: \s+(?!\S) takes the run up to the end of the text, or all but its last character
        // when a non-space follows (that character then leads the next piece); a lone one is \s+.
        int end = RunEnd(s, i, Kind.Space);
        bool atEnd = end == s.Length || KindAt(s, end, out _) == Kind.Number;
        if (atEnd) return end;
        return end - i >= 2 ? end - 1 : end;
    }
}
