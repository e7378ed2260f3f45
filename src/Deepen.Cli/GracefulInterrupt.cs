using System.Runtime.InteropServices;

namespace Deepen.Cli;

/// <summary>
/// Ctrl-C (and SIGTERM, SIGUSR1) for a long run: the first one cancels <see cref="Token"/> and keeps the process
/// alive so the run can save a checkpoint at the end of its step and return; a second one terminates the process at once.
/// <para>
/// Under <c>mpirun</c> only SIGUSR1 stops gracefully (<c>kill -USR1</c> the mpirun process, which forwards it to
/// every rank); Ctrl-C and SIGTERM are mpirun's way of ending the job (also when another rank died), so they
/// terminate the rank, after saying so.
/// </para>
/// </summary>
public sealed class GracefulInterrupt : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly Action<string> _say;
    private readonly PosixSignalRegistration? _sigterm, _sigusr1;
    private readonly bool _cancelKey;
    private int _count;

    /// <param name="say">Where the "stopping…" notices go (stderr in the CLI).</param>
    /// <param name="listen">Register for Console.CancelKeyPress, SIGTERM and SIGUSR1 (false in tests, which call <see cref="OnInterrupt"/>).</param>
    /// <param name="rankOfMpiJob">This process's rank when it is one rank of an mpirun job; null for a process on its own.</param>
    public GracefulInterrupt(Action<string> say, bool listen = true, int? rankOfMpiJob = null)
    {
        _say = say;
        if (!listen) return;
        _cancelKey = rankOfMpiJob is null;
        if (_cancelKey) Console.CancelKeyPress += OnCancelKeyPress;
        try
        {
            _sigterm = rankOfMpiJob is { } rank
                ? PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Console.Error.WriteLine(
                    $"rank {rank}: terminated by mpirun (SIGTERM): another rank ended abnormally, or the job was interrupted. Continue from the last checkpoint with --resume auto."))
                : PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => ctx.Cancel = OnInterrupt("SIGTERM"));
            if (OperatingSystem.IsLinux()) _sigusr1 = PosixSignalRegistration.Create(SigUsr1, ctx => ctx.Cancel = OnInterrupt("SIGUSR1"));
        }
        catch (PlatformNotSupportedException) { }
    }

    /// <summary>SIGUSR1 on Linux (a raw signal number; PosixSignal does not name it).</summary>
    public const PosixSignal SigUsr1 = (PosixSignal)10;

    /// <summary>Cancelled by the first interrupt.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>Whether an interrupt has been received.</summary>
    public bool Requested => _cts.IsCancellationRequested;

    /// <summary>
    /// Handles one interrupt: the first cancels <see cref="Token"/> and returns true (keep running);
    /// later ones return false (let the signal terminate the process).
    /// </summary>
    public bool OnInterrupt(string what)
    {
        if (Interlocked.Increment(ref _count) == 1)
        {
            _say($"{what}: stopping after this step and saving a checkpoint ({what} again to exit at once, without saving).");
            _cts.Cancel();
            return true;
        }
        _say($"{what} again: exiting now.");
        return false;
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e) => e.Cancel = OnInterrupt("Ctrl-C");

    /// <summary>Unregisters the handlers.</summary>
    public void Dispose()
    {
        if (_cancelKey) Console.CancelKeyPress -= OnCancelKeyPress;
        _sigterm?.Dispose();
        _sigusr1?.Dispose();
        _cts.Dispose();
    }
}
