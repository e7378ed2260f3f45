using System.Runtime.InteropServices;

namespace Deepen.Cli;

/// <summary>
/// Ctrl-C (and SIGTERM) for a long run: the first one cancels <see cref="Token"/> and keeps the process alive so
/// the run can save a checkpoint at the end of its step and return; a second one terminates the process at once.
/// </summary>
public sealed class GracefulInterrupt : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly Action<string> _say;
    private readonly PosixSignalRegistration? _sigterm;
    private readonly bool _listening;
    private int _count;

    /// <param name="say">Where the "stopping…" notices go (stderr in the CLI).</param>
    /// <param name="listen">Register for Console.CancelKeyPress and SIGTERM (false in tests, which call <see cref="OnInterrupt"/>).</param>
    public GracefulInterrupt(Action<string> say, bool listen = true)
    {
        _say = say;
        _listening = listen;
        if (!listen) return;
        Console.CancelKeyPress += OnCancelKeyPress;
        try { _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => ctx.Cancel = OnInterrupt("SIGTERM")); }
        catch (PlatformNotSupportedException) { }
    }

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
        if (_listening) Console.CancelKeyPress -= OnCancelKeyPress;
        _sigterm?.Dispose();
        _cts.Dispose();
    }
}
