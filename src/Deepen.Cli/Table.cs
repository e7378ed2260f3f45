namespace Deepen.Cli;

/// <summary>Prints two-column key/value tables aligned in plain text (also readable when piped).</summary>
public static class Table
{
    public static void Print(IReadOnlyList<(string Key, string Value)> rows)
    {
        int w = rows.Max(r => r.Key.Length);
        foreach (var (k, v) in rows) Console.WriteLine($"{k.PadRight(w)}  {v}");
    }
}
