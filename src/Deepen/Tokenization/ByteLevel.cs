namespace Deepen.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map used by HF's "ByteLevel" pre-tokenizer and decoder: printable
/// Latin-1 bytes map to themselves, the other 68 bytes to U+0100 onwards in byte order, so every byte
/// string is a printable token string (a space becomes 'Ġ', a newline 'Ċ').
/// </summary>
public static class ByteLevel
{
    /// <summary>The character that stands for each byte value.</summary>
    public static IReadOnlyList<char> ByteToChar => Map;

    private static readonly char[] Map = BuildMap();
    private static readonly Dictionary<char, byte> Inverse = Enumerable.Range(0, 256).ToDictionary(b => Map[b], b => (byte)b);

    /// <summary>Appends the bytes a token string stands for; false when it holds a character outside the map.</summary>
    public static bool TryDecode(string token, List<byte> output)
    {
        foreach (char c in token)
        {
            if (!Inverse.TryGetValue(c, out byte b)) return false;
            output.Add(b);
        }
        return true;
    }

    private static char[] BuildMap()
    {
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }
}
