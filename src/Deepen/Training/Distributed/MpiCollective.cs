using System.Runtime.InteropServices;
using System.Text;

namespace Deepen.Training.Distributed;

/// <summary>
/// <see cref="ICollective"/> over Open MPI, called through its C ABI (<c>libmpi.so.40</c>, Open MPI 3.0 and
/// later; Debian's <c>libopenmpi-dev</c>). Open MPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>,
/// <c>MPI_SUM</c>, ...) are the addresses of global symbols (<c>ompi_mpi_comm_world</c>, ...), resolved
/// with <see cref="NativeLibrary.GetExport"/>. The library is opened with <c>RTLD_GLOBAL</c> first, because
/// Open MPI's own plugins, which it opens later, link against its symbols.
/// <para>
/// Errors keep MPI's default handler (<c>MPI_ERRORS_ARE_FATAL</c>): a failed collective ends the job.
/// When one rank dies, <c>mpirun</c> ends the others (SIGTERM, then SIGKILL); a rank that hangs is caught
/// by the <see cref="CollectiveWatchdog"/>. MPI is initialised with <c>MPI_THREAD_MULTIPLE</c> so that the
/// watchdog may call <c>MPI_Abort</c> while the main thread waits in a collective. One process can
/// initialise MPI once: <see cref="Initialize"/> a second time throws.
/// </para>
/// </summary>
public sealed unsafe class MpiCollective : ICollective
{
    /// <summary>The Open MPI library opened unless <c>DEEPEN_MPI_LIBRARY</c> names another.</summary>
    public const string DefaultLibrary = "libmpi.so.40";

    private const int ThreadMultiple = 3;                 // MPI_THREAD_MULTIPLE in Open MPI's mpi.h
    private static readonly nint InPlace = 1;             // MPI_IN_PLACE in Open MPI's mpi.h
    private static int _initialized;

    private readonly nint _comm, _float, _double, _byte, _sum;
    private readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged<nint, int, nint, int, nint, int> _bcast;
    private readonly delegate* unmanaged<nint, int> _barrier;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;
    private readonly CollectiveWatchdog? _watchdog;
    private bool _disposed;

    private MpiCollective(nint lib, TimeSpan? timeout)
    {
        var init = NativeLibrary.GetExport(lib, "MPI_Init_thread");
        var rank = NativeLibrary.GetExport(lib, "MPI_Comm_rank");
        var size = NativeLibrary.GetExport(lib, "MPI_Comm_size");
        var version = NativeLibrary.GetExport(lib, "MPI_Get_library_version");
        _allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)NativeLibrary.GetExport(lib, "MPI_Allreduce");
        _bcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)NativeLibrary.GetExport(lib, "MPI_Bcast");
        _barrier = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(lib, "MPI_Barrier");
        _abort = (delegate* unmanaged<nint, int, int>)NativeLibrary.GetExport(lib, "MPI_Abort");
        _finalize = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "MPI_Finalize");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)NativeLibrary.GetExport(lib, "MPI_Error_string");
        _comm = NativeLibrary.GetExport(lib, "ompi_mpi_comm_world");
        _float = NativeLibrary.GetExport(lib, "ompi_mpi_float");
        _double = NativeLibrary.GetExport(lib, "ompi_mpi_double");
        _byte = NativeLibrary.GetExport(lib, "ompi_mpi_byte");
        _sum = NativeLibrary.GetExport(lib, "ompi_mpi_op_sum");

        int provided;
        Check(((delegate* unmanaged<int*, nint, int, int*, int>)init)(null, 0, ThreadMultiple, &provided), "MPI_Init_thread");
        int r, s;
        Check(((delegate* unmanaged<nint, int*, int>)rank)(_comm, &r), "MPI_Comm_rank");
        Check(((delegate* unmanaged<nint, int*, int>)size)(_comm, &s), "MPI_Comm_size");
        Rank = r;
        WorldSize = s;
        LocalRank = EnvInt("OMPI_COMM_WORLD_LOCAL_RANK") ?? Rank;
        LocalSize = EnvInt("OMPI_COMM_WORLD_LOCAL_SIZE") ?? WorldSize;
        var text = new byte[4096];
        int length;
        fixed (byte* t = text)
            Description = ((delegate* unmanaged<byte*, int*, int>)version)(t, &length) == 0
                ? Encoding.ASCII.GetString(text, 0, Math.Clamp(length, 0, text.Length)).Split(',')[0].Trim('\0', ' ', '\n')
                : "MPI";
        if (timeout is { } t0) _watchdog = new CollectiveWatchdog(t0, OnTimeout);
    }

    /// <summary>
    /// Initialises MPI (<c>MPI_Init_thread</c>) in a process started by <c>mpirun</c>.
    /// </summary>
    /// <param name="collectiveTimeout">How long one collective may wait for the others before the job is aborted (null: no limit).</param>
    /// <exception cref="DeepenException">Open MPI's library cannot be loaded.</exception>
    public static MpiCollective Initialize(TimeSpan? collectiveTimeout = null)
    {
        if (Interlocked.Exchange(ref _initialized, 1) != 0)
            throw new InvalidOperationException("MPI is initialised once per process; use the existing MpiCollective.");
        return new MpiCollective(LoadGlobal(Environment.GetEnvironmentVariable("DEEPEN_MPI_LIBRARY") ?? DefaultLibrary), collectiveTimeout);
    }

    public int Rank { get; }
    public int WorldSize { get; }
    public int LocalRank { get; }
    public int LocalSize { get; }
    public string Description { get; }

    public void AllReduceSum(Span<float> buffer) => AllReduce(buffer, _float, "floats");

    public void AllReduceSum(Span<double> buffer) => AllReduce(buffer, _double, "doubles");

    /// <summary>MPI_Allreduce (sum, in place) of <paramref name="buffer"/>, whose elements are MPI type <paramref name="type"/>.</summary>
    private void AllReduce<T>(Span<T> buffer, nint type, string elements) where T : unmanaged
    {
        using var watch = _watchdog?.Enter($"MPI_Allreduce of {buffer.Length:N0} {elements}");
        fixed (T* p = buffer) Check(_allreduce(InPlace, (nint)p, buffer.Length, type, _sum, _comm), "MPI_Allreduce");
    }

    public void Broadcast(Span<byte> buffer, int root)
    {
        using var watch = _watchdog?.Enter($"MPI_Bcast of {buffer.Length:N0} bytes from rank {root}");
        fixed (byte* p = buffer) Check(_bcast((nint)p, buffer.Length, _byte, root, _comm), "MPI_Bcast");
    }

    public void Barrier()
    {
        using var watch = _watchdog?.Enter("MPI_Barrier");
        Check(_barrier(_comm), "MPI_Barrier");
    }

    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        _abort(_comm, exitCode);
        Environment.Exit(exitCode);   // MPI_Abort does not return; this is never reached
    }

    /// <summary>MPI_Finalize: waits for the other ranks to finalise too.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _watchdog?.Dispose();
        Check(_finalize(), "MPI_Finalize");
    }

    private void OnTimeout(string message)
    {
        Console.Error.WriteLine($"error: rank {Rank} of {WorldSize}: {message}; aborting the job. Continue from the last checkpoint with --resume auto.");
        Abort(1);
    }

    private void Check(int code, string call)
    {
        if (code == 0) return;
        var text = new byte[1024];
        int length = 0;
        fixed (byte* t = text) _ = _errorString(code, t, &length);
        throw new InvalidOperationException($"{call} failed on rank {Rank}: {Encoding.ASCII.GetString(text, 0, Math.Clamp(length, 0, text.Length))} (error {code}).");
    }

    private static int? EnvInt(string name) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : null;

    /// <summary>dlopen(name, RTLD_NOW | RTLD_GLOBAL), then the handle .NET uses for symbol lookup.</summary>
    private static nint LoadGlobal(string name)
    {
        const int RtldNow = 2, RtldGlobal = 0x100;
        nint dlopen = 0;
        foreach (var libc in new[] { "libc.so.6", "libdl.so.2" })
            if (NativeLibrary.TryLoad(libc, out var h) && NativeLibrary.TryGetExport(h, "dlopen", out dlopen)) break;
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        nint global = 0;
        if (dlopen != 0)
            fixed (byte* n = bytes) global = ((delegate* unmanaged<byte*, int, nint>)dlopen)(n, RtldNow | RtldGlobal);
        if (global == 0 || !NativeLibrary.TryLoad(name, out var lib))
            throw new DeepenException($"cannot load Open MPI's library '{name}': install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev), or set DEEPEN_MPI_LIBRARY to its libmpi.so.");
        return lib;
    }
}
