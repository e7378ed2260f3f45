namespace Deepen.Bench;

/// <summary>Process measurements read from /proc (Linux).</summary>
public static class Measure
{
    /// <summary>Peak resident set size of this process in MiB (VmHWM).</summary>
    public static double PeakRssMiB() => StatusMiB("VmHWM:");

    /// <summary>Current resident set size of this process in MiB (VmRSS).</summary>
    public static double RssMiB() => StatusMiB("VmRSS:");

    private static double StatusMiB(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return double.NaN;
    }

    public static string Arg(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
