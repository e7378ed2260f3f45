using System.Collections.Concurrent;

namespace Deepen.Server;

/// <summary>
/// Runs model work one job at a time on a dedicated thread, in arrival order (first come, first served: no request
/// waits behind one that arrived later). A job cancelled while it waits is skipped; a full queue refuses new jobs.
/// </summary>
public sealed class RequestQueue : IDisposable
{
    private readonly BlockingCollection<Job> jobs;
    private readonly Thread worker;

    private sealed record Job(Action<CancellationToken> Work, CancellationToken Cancellation, TaskCompletionSource Done);

    private readonly Action? afterJob;

    /// <param name="capacity">Jobs that may wait at once; more are refused.</param>
    /// <param name="afterJob">Runs on the worker after every job (the server records the worker's live tensors there).</param>
    public RequestQueue(int capacity = 256, Action? afterJob = null)
    {
        this.afterJob = afterJob;
        jobs = new BlockingCollection<Job>(new ConcurrentQueue<Job>(), capacity);
        worker = new Thread(Work) { IsBackground = true, Name = "deepen-model-worker" };
        worker.Start();
    }

    /// <summary>Jobs waiting (not counting the one running).</summary>
    public int Waiting => jobs.Count;

    /// <summary>Jobs finished so far (completed, failed or cancelled).</summary>
    public long Finished => Interlocked.Read(ref finished);
    private long finished;

    /// <summary>
    /// Queues <paramref name="work"/>; the task completes when it has run (faulted with its exception, or cancelled).
    /// Returns null when the queue is full.
    /// </summary>
    public Task? TryEnqueue(Action<CancellationToken> work, CancellationToken cancellation)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            return jobs.TryAdd(new Job(work, cancellation, done)) ? done.Task : null;
        }
        catch (InvalidOperationException)   // CompleteAdding: shutting down
        {
            return null;
        }
    }

    private void Work()
    {
        foreach (var job in jobs.GetConsumingEnumerable())
        {
            try
            {
                job.Cancellation.ThrowIfCancellationRequested();
                job.Work(job.Cancellation);
                job.Done.TrySetResult();
            }
            catch (OperationCanceledException)
            {
                job.Done.TrySetCanceled();
            }
            catch (Exception e)
            {
                job.Done.TrySetException(e);
            }
            afterJob?.Invoke();
            Interlocked.Increment(ref finished);
        }
    }

    /// <summary>Stops taking jobs, lets the queued ones run, and waits for the worker (at most 30 s).</summary>
    public void Dispose()
    {
        jobs.CompleteAdding();
        worker.Join(TimeSpan.FromSeconds(30));
        jobs.Dispose();
    }
}
