using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Deepen.Bench;

/// <summary>
/// Runs a benchmark worker in a fresh process (so its peak RSS and warm-up are its own) and collects the JSON
/// objects it prints, one per line; other lines are ignored. Environment variables of this process are inherited
/// (OMP_WAIT_POLICY, OMP_NUM_THREADS, ...), with <paramref name="env"/> on top.
/// </summary>
public static class ChildProcess
{
    /// <summary>Runs this benchmark program itself with <paramref name="args"/>.</summary>
    public static List<JsonObject> Self(IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var path = Environment.ProcessPath!;
        var all = new List<string>();
        if (Path.GetFileNameWithoutExtension(path) == "dotnet") all.Add(typeof(ChildProcess).Assembly.Location);
        all.AddRange(args);
        return Run(path, all, env, timeout);
    }

    public static List<JsonObject> Run(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var (stdout, _) = RunText(file, args, env, timeout);
        var lines = new List<JsonObject>();
        foreach (var raw in stdout.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('{') && JsonNode.Parse(line) is JsonObject o) lines.Add(o);
        }
        return lines;
    }

    /// <summary>Runs a process to completion; throws with the end of its stderr when it fails.</summary>
    public static (string Stdout, string Stderr) RunText(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        using var stop = new StopWith(p);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(30)))
        {
            p.Kill(true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} timed out");
        }
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            var err = stderr.Result + stdout.Result;
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', psi.ArgumentList)} exited {p.ExitCode}:\n{(err.Length > 3000 ? err[^3000..] : err)}");
        }
        return (stdout.Result, stderr.Result);
    }

    /// <summary>Kills the running worker when this process is interrupted or terminated, so no worker outlives it.</summary>
    private sealed class StopWith : IDisposable
    {
        private readonly Process _child;
        private readonly PosixSignalRegistration[] _signals;

        public StopWith(Process child)
        {
            _child = child;
            _signals = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Kill), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Kill)];
        }

        private void Kill(PosixSignalContext context)
        {
            try { if (!_child.HasExited) _child.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }

        public void Dispose()
        {
            foreach (var s in _signals) s.Dispose();
        }
    }

    /// <summary>The repository root: the nearest folder above the working directory or this program holding Deepen.slnx.</summary>
    public static string RepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Deepen.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("Deepen.slnx not found above the working directory or the benchmark program");
    }
}
