namespace Deepen.Training.Distributed;

/// <summary>
/// Bounds how long one collective may wait for the other ranks. A background thread looks at the
/// operation in flight; when one has run longer than <see cref="Timeout"/> it calls the timeout action
/// once (for <see cref="MpiCollective"/>: say why on stderr and abort the whole job), so that a rank
/// that hangs, or a peer lost without Open MPI noticing, ends the job instead of leaving it waiting forever.
/// <para>
/// A collective also waits while rank 0 works alone (validation, writing a checkpoint or the final
/// model, preparing raw data), so the timeout must exceed the longest of those.
/// </para>
/// </summary>
public sealed class CollectiveWatchdog : IDisposable
{
    private readonly Action<string> _onTimeout;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private readonly object _lock = new();
    private string? _what;
    private DateTime _since;
    private bool _fired;

    /// <param name="timeout">How long one collective may take.</param>
    /// <param name="onTimeout">Called once, on the watchdog's thread, with a message saying what timed out.</param>
    public CollectiveWatchdog(TimeSpan timeout, Action<string> onTimeout)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the collective timeout must be positive");
        Timeout = timeout;
        _onTimeout = onTimeout;
        _thread = new Thread(Watch) { IsBackground = true, Name = "collective watchdog" };
        _thread.Start();
    }

    /// <summary>How long one collective may take before the job is ended.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Marks a collective as in flight until the returned handle is disposed.</summary>
    public Scope Enter(string what)
    {
        lock (_lock)
        {
            _what = what;
            _since = DateTime.UtcNow;
        }
        return new Scope(this);
    }

    /// <summary>Ends the in-flight mark of <see cref="Enter"/>.</summary>
    public readonly struct Scope(CollectiveWatchdog owner) : IDisposable
    {
        public void Dispose() { lock (owner._lock) owner._what = null; }
    }

    private void Watch()
    {
        var poll = TimeSpan.FromMilliseconds(Math.Clamp(Timeout.TotalMilliseconds / 10, 10, 1000));
        while (!_stop.Wait(poll))
        {
            string? message = null;
            lock (_lock)
            {
                if (_what is not null && !_fired && DateTime.UtcNow - _since > Timeout)
                {
                    _fired = true;
                    message = $"{_what} has waited {(DateTime.UtcNow - _since).TotalSeconds:F0} s for the other ranks " +
                              $"(collective timeout {Timeout.TotalSeconds:F0} s): a rank has died or hung";
                }
            }
            if (message is not null) _onTimeout(message);
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
