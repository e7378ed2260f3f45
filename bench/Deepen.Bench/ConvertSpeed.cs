using System.Globalization;
using System.Text.RegularExpressions;

namespace Deepen.Bench;

/// <summary>One run of <c>deepen convert</c>: wall time and peak RSS of the whole process, and the CLI's own figures.</summary>
public sealed record ConvertRun(double WallSeconds, double PeakRssMiB, double CliSeconds, double CliPeakRssMiB);

/// <summary>
/// Conversion of the TinyLlama-shaped checkpoint (22 layers, d 2048, bf16; <c>make-tinyllama</c> writes it when
/// missing) to a (4,8,4) recurrent model stored in bf16, by the CLI (<c>Deepen.Cli convert</c>, Release build) in a
/// child process under <c>/usr/bin/time</c> (wall time, max RSS of the process). The output is deleted after each run.
/// The first run may read the source from disk; later runs usually find it in the page cache.
/// </summary>
public static partial class ConvertSpeed
{
    public static List<ConvertRun> Collect(string[] args, Action<string> log)
    {
        string root = ChildProcess.RepoRoot();
        string source = Measure.Arg(args, "--tinyllama", "/tmp/tinyllama-shaped");
        int runs = int.Parse(Measure.Arg(args, "--convert-runs", "3"), CultureInfo.InvariantCulture);
        string shape = Measure.Arg(args, "--convert-shape", "4,8,4");
        if (!File.Exists(Path.Combine(source, "config.json")))
        {
            log($"{source} missing: writing the TinyLlama-shaped checkpoint (make-tinyllama)");
            ChildProcess.RunText(Environment.ProcessPath!, SelfArgs("make-tinyllama", "--out", source));
        }
        string? cli = FindCli(root);
        if (cli is null)
        {
            log("building the CLI (Release)");
            ChildProcess.RunText("dotnet", ["build", Path.Combine(root, "src", "Deepen.Cli"), "-c", "Release", "--nologo", "-v", "q"]);
            cli = FindCli(root) ?? throw new FileNotFoundException("Deepen.Cli.dll not found after building src/Deepen.Cli (Release)");
        }
        var result = new List<ConvertRun>();
        for (int i = 0; i < runs; i++)
        {
            string outDir = Path.Combine(Path.GetTempPath(), $"deepen-bench-convert-{Environment.ProcessId}");
            try
            {
                var (stdout, stderr) = ChildProcess.RunText("/usr/bin/time",
                    ["-f", "TIME %e %M", "dotnet", cli, "convert", "--from", source, "--out", outDir, "--shape", shape, "--dtype", "bfloat16", "--force"]);
                var time = TimeLine().Match(stderr);
                var cliLine = CliLine().Match(stdout);
                if (!time.Success) throw new InvalidOperationException($"no /usr/bin/time line in: {stderr}");
                var run = new ConvertRun(D(time.Groups[1].Value), D(time.Groups[2].Value) / 1024,
                                         cliLine.Success ? D(cliLine.Groups[1].Value) : double.NaN, cliLine.Success ? D(cliLine.Groups[2].Value) : double.NaN);
                result.Add(run);
                log($"convert run {i + 1}/{runs}: {run.WallSeconds:F1} s wall, peak RSS {run.PeakRssMiB:F0} MiB (CLI: {run.CliSeconds:F1} s, {run.CliPeakRssMiB:F0} MiB)");
            }
            finally
            {
                if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
            }
        }
        return result;
    }

    /// <summary>Arguments that run this benchmark program with <paramref name="args"/> through <see cref="Environment.ProcessPath"/>.</summary>
    public static string[] SelfArgs(params string[] args) =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet" ? [typeof(ConvertSpeed).Assembly.Location, .. args] : args;

    /// <summary>The Release build of the CLI (under <c>src/Deepen.Cli/bin/Release</c>, any runtime folder), or null.</summary>
    private static string? FindCli(string root)
    {
        var bin = Path.Combine(root, "src", "Deepen.Cli", "bin", "Release");
        return Directory.Exists(bin) ? Directory.EnumerateFiles(bin, "Deepen.Cli.dll", SearchOption.AllDirectories).FirstOrDefault() : null;
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"TIME ([0-9.]+) ([0-9]+)")]
    private static partial Regex TimeLine();

    [GeneratedRegex(@"in ([0-9.]+) s, peak RSS ([0-9]+) MiB")]
    private static partial Regex CliLine();
}
