using System.Text;

namespace Deepen.Data;

/// <summary>Reads a bounded sample of plain-text files, e.g. to train a tokenizer on a few megabytes of a larger corpus.</summary>
public static class CorpusSample
{
    /// <summary>
    /// The text files named by <paramref name="paths"/> (a directory stands for its <c>*.txt</c> files, sorted),
    /// each cut to an equal share of <paramref name="maxBytes"/> (what a short file leaves is shared by the
    /// others), at the last line break within its share. Returns one string per file, in the given order.
    /// </summary>
    public static IReadOnlyList<string> Read(IEnumerable<string> paths, long maxBytes)
    {
        if (maxBytes < 1) throw DeepenException.BadSetting("max_bytes", $"{maxBytes}: expected a positive number of bytes.");
        var files = Expand(paths);
        if (files.Count == 0) throw DeepenException.BadSetting("corpus", ": no text files given; expected files or directories holding *.txt.");
        var shares = new long[files.Count];
        long left = maxBytes;
        var bySize = files.Select((f, i) => (Size: new FileInfo(f).Length, Index: i)).OrderBy(x => x.Size).ThenBy(x => x.Index).ToList();
        for (int k = 0; k < bySize.Count; k++)
        {
            long share = Math.Min(bySize[k].Size, left / (bySize.Count - k));
            shares[bySize[k].Index] = share;
            left -= share;
        }
        return files.Select((f, i) => ReadPrefix(f, shares[i])).ToList();
    }

    private static List<string> Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path)) files.AddRange(Directory.GetFiles(path, "*.txt").Order(StringComparer.Ordinal));
            else if (File.Exists(path)) files.Add(path);
            else throw DeepenException.BadSetting("corpus", $"'{path}': no such file or directory.");
        }
        return files;
    }

    private static string ReadPrefix(string path, long count)
    {
        using var stream = File.OpenRead(path);
        var buffer = new byte[count];
        stream.ReadExactly(buffer);
        int end = buffer.Length;
        if (count < stream.Length)
        {
            int newline = Array.LastIndexOf(buffer, (byte)'\n');
            if (newline >= 0) end = newline + 1;
            else
            {
                // No line break: cut before a partial UTF-8 character.
                while (end > 0 && (buffer[end - 1] & 0xC0) == 0x80) end--;
                if (end > 0 && buffer[end - 1] >= 0xC0) end--;
            }
        }
        return Encoding.UTF8.GetString(buffer, 0, end);
    }
}
