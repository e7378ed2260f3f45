using System.Collections.Concurrent;
using System.Diagnostics;
using Deepen.Training;

namespace Deepen.Tests.Training.Distributed;

/// <summary>
/// The built <c>deepen</c> CLI run as an Open MPI job, as a user would: <c>mpirun -n N dotnet Deepen.Cli.dll ...</c>.
/// Output (both streams, all ranks) is collected line by line while it runs.
/// </summary>
public sealed class MpiJob : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>Why MPI tests cannot run here (no <c>mpirun</c> on PATH), or null.</summary>
    public static string? MissingReason { get; } = FindMpirun() is null
        ? "Skipped: mpirun (Open MPI) is not on PATH; install openmpi-bin and libopenmpi-dev (.ci/run does)."
        : null;

    private MpiJob(int ranks, string[] args)
    {
        var psi = new ProcessStartInfo(FindMpirun()!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Root in CI containers; oversubscribe and no core binding so that two ranks run on any machine.
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", ranks.ToString(), "dotnet", Path.Combine(AppContext.BaseDirectory, "Deepen.Cli.dll") })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // Containers often forbid the cross-memory attach Open MPI's shared-memory transport tries first.
        psi.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
        // Open MPI 4 refuses to start, even on one machine, when neither ssh nor rsh is installed (a bare CI image):
        // name an agent that exists; a job on one machine never calls it.
        psi.Environment["OMPI_MCA_plm_rsh_agent"] = "false";
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts <c>deepen ARGS</c> on <paramref name="ranks"/> ranks.</summary>
    public static MpiJob Start(int ranks, params string[] args) => new(ranks, args);

    /// <summary>Runs <c>deepen ARGS</c> on <paramref name="ranks"/> ranks to the end (at most 300 s).</summary>
    public static (int ExitCode, string Output) Run(int ranks, params string[] args)
    {
        using var job = Start(ranks, args);
        if (!job.WaitForExit(TimeSpan.FromSeconds(300))) throw new TimeoutException($"mpirun -n {ranks} deepen {string.Join(' ', args)} did not finish in 300 s:\n{job.Output}");
        return (job.ExitCode, job.Output);
    }

    /// <summary>Writes <paramref name="config"/> as a YAML file in <paramref name="dir"/> and returns its path.</summary>
    public static string WriteConfig(TrainConfig config, string dir, string name)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name + ".yaml");
        TrainConfigFile.Save(config, path);
        return path;
    }

    public string Output => string.Join('\n', _lines);

    /// <summary>The process id of mpirun itself.</summary>
    public int MpirunPid => _process.Id;
    public int ExitCode => _process.ExitCode;

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return false;
        _process.WaitForExit();   // drains the output
        return true;
    }

    /// <summary>Waits until a line of output satisfies <paramref name="match"/>; false after <paramref name="timeout"/> or when the job ended first.</summary>
    public bool WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_lines.Any(match)) return true;
            if (_process.HasExited) return _lines.Any(match);
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>The process id of rank <paramref name="rank"/>: the child of this mpirun whose environment says OMPI_COMM_WORLD_RANK=rank.</summary>
    public int RankPid(int rank)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var ppid = File.ReadLines(Path.Combine(dir, "status")).First(l => l.StartsWith("PPid:", StringComparison.Ordinal));
                if (int.Parse(ppid[5..].Trim()) != _process.Id) continue;
                var env = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (env.Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException) { }
        }
        throw new InvalidOperationException($"no process of rank {rank} under mpirun {_process.Id}:\n{Output}");
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    private static string? FindMpirun() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);
}

/// <summary>A fact that needs Open MPI's <c>mpirun</c>; skipped, with the reason shown, where it is absent.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute() => Skip = MpiJob.MissingReason;
}

/// <summary>
/// The MPI tests run one at a time and not beside other tests: each starts several processes whose timing
/// (a killed rank's job ending within seconds, a collective timeout) must not depend on what else runs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MpiCollection
{
    public const string Name = "mpi";
}
