namespace Deepen.Training.Distributed;

/// <summary>How this process was started: alone, or as one rank of an Open MPI job.</summary>
public static class DistributedLaunch
{
    /// <summary>Set by Open MPI's <c>mpirun</c> in every process it starts.</summary>
    public const string WorldSizeVariable = "OMPI_COMM_WORLD_SIZE";

    /// <summary>True when Open MPI's <c>mpirun</c> started this process (<c>OMPI_COMM_WORLD_SIZE</c> is set).</summary>
    public static bool UnderMpirun => Environment.GetEnvironmentVariable(WorldSizeVariable) is not null;

    /// <summary>
    /// The collective for this process: <see cref="MpiCollective"/> under <c>mpirun</c> (also with <c>-n 1</c>),
    /// otherwise <see cref="SingleProcessCollective"/>.
    /// </summary>
    /// <param name="collectiveTimeout">The MPI collective timeout (see <see cref="CollectiveWatchdog"/>); null: none.</param>
    public static ICollective FromEnvironment(TimeSpan? collectiveTimeout) =>
        UnderMpirun ? MpiCollective.Initialize(collectiveTimeout) : SingleProcessCollective.Instance;

    /// <summary>
    /// Torch threads for one of <paramref name="localSize"/> ranks on this machine when the config leaves
    /// <c>threads</c> at 0: the cores this process may run on, if the launcher bound it to cores of its own
    /// (<c>mpirun --bind-to core</c>, its default for two ranks), else an equal share of them
    /// (<c>--bind-to none</c>): cores ÷ ranks, at least 1.
    /// </summary>
    public static int DefaultThreads(int localSize)
    {
        int usable = Environment.ProcessorCount;   // affinity- and cgroup-aware
        if (localSize <= 1) return usable;
        return (long)usable * localSize <= MachineCores() ? usable : Math.Max(1, usable / localSize);
    }

    /// <summary>Cores online on this machine (<c>/sys/devices/system/cpu/online</c>, e.g. "0-3,6"), whatever this process's affinity.</summary>
    public static int MachineCores()
    {
        try
        {
            int n = 0;
            foreach (var part in File.ReadAllText("/sys/devices/system/cpu/online").Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var ends = part.Split('-');
                n += ends.Length == 2 ? int.Parse(ends[1]) - int.Parse(ends[0]) + 1 : 1;
            }
            return Math.Max(n, Environment.ProcessorCount);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return Environment.ProcessorCount;
        }
    }
}
