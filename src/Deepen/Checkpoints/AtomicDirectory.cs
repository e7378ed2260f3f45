namespace Deepen.Checkpoints;

/// <summary>Writes a directory through a temporary sibling that is renamed into place only when complete.</summary>
public static class AtomicDirectory
{
    /// <summary>Lets <paramref name="fill"/> fill a temporary sibling of <paramref name="dir"/>, then renames it into place (replacing an existing <paramref name="dir"/> only when <paramref name="overwrite"/>); deletes the temporary on failure.</summary>
    public static void Write(string dir, bool overwrite, Action<string> fill)
    {
        dir = Path.GetFullPath(dir);
        if (Directory.Exists(dir) || File.Exists(dir))
        {
            if (!overwrite) throw new DeepenException($"{dir}: output already exists; choose another path or pass `force` to replace it.");
        }
        var parent = Path.GetDirectoryName(dir)!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, "." + Path.GetFileName(dir) + ".tmp-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.Move(tmp, dir);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }
}
