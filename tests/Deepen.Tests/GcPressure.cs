namespace Deepen.Tests;

/// <summary>
/// A thread that allocates and forces full collections (and their finalizers) without pause until disposed, the way
/// request threads or a progress bar's thread can trigger collections while the model runs native code.
/// </summary>
public sealed class GcPressure : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Thread thread;
    private long collections;

    public GcPressure()
    {
        thread = new Thread(() =>
        {
            var keep = new List<byte[]>();
            while (!stop.IsCancellationRequested)
            {
                keep.Add(new byte[64 * 1024]);
                if (keep.Count > 64) keep.Clear();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true, Name = "gc-pressure" };
        thread.Start();
    }

    /// <summary>Collections forced so far.</summary>
    public long Collections => Interlocked.Read(ref collections);

    public void Dispose()
    {
        stop.Cancel();
        thread.Join();
        stop.Dispose();
    }
}
