using Deepen.Inference;

namespace Deepen.Server;

/// <summary>
/// The model worker of <c>deepen serve</c>: one thread that owns the model and a <see cref="ContinuousBatch"/>.
/// Requests wait in a bounded first-come-first-served queue; at every token boundary the worker admits waiting
/// requests into the running batch (each prompt is prefilled, then joins), up to <see cref="MaxBatch"/> rows and
/// <see cref="PrefillTokensPerStep"/> prompt tokens per step, so prefill is interleaved with the running rows'
/// decoding instead of stalling it; then it decodes one token for every row. A request whose settings cannot
/// join the running batch (another adaptive exit, initial state or KV cache mode, or no cache at all) waits at
/// the head of the queue until the batch drains, so no request waits behind one that arrived later.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private readonly Generator generator;
    private readonly LinkedList<Job> waiting = new();
    private readonly object gate = new();
    private readonly Thread worker;
    private readonly Action<int>? whenIdle;
    private readonly Action<int>? rowsChanged, stepped;
    private readonly Action<long, long>? prefixCache;
    private readonly long prefixCacheTokens;
    private bool stopping;
    private int reportedRows;
    private long decodeSteps;

    /// <param name="generator">The model and tokenizer (used on the worker thread only).</param>
    /// <param name="capacity">Requests that may wait at once; more are refused.</param>
    /// <param name="maxBatch">Rows decoded together at most.</param>
    /// <param name="prefillTokensPerStep">Prompt tokens admitted between two decode steps (at least one request is always admitted into an idle batch).</param>
    /// <param name="whenIdle">Runs on the worker each time the batch has drained, with the tensors the batch keeps on purpose (its prefix cache's); the server records the worker's other live tensors there.</param>
    /// <param name="rowsChanged">Receives the change in rows decoding, on the worker.</param>
    /// <param name="stepped">Receives the rows of every decode step, on the worker.</param>
    /// <param name="prefixCacheTokens">The prefix cache's budget in prompt tokens (0: no prefix caching).</param>
    /// <param name="prefixCache">Receives, after every join, the prompt tokens it took from the prefix cache and the tokens the cache holds, on the worker.</param>
    public BatchScheduler(Generator generator, int capacity = 256, int maxBatch = 16, int prefillTokensPerStep = 512,
        Action<int>? whenIdle = null, Action<int>? rowsChanged = null, Action<int>? stepped = null,
        long prefixCacheTokens = 0, Action<long, long>? prefixCache = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixCacheTokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefillTokensPerStep, 1);
        this.generator = generator;
        Capacity = capacity;
        MaxBatch = maxBatch;
        PrefillTokensPerStep = prefillTokensPerStep;
        this.whenIdle = whenIdle;
        this.rowsChanged = rowsChanged;
        this.stepped = stepped;
        this.prefixCacheTokens = prefixCacheTokens;
        this.prefixCache = prefixCache;
        worker = new Thread(Work) { IsBackground = true, Name = "deepen-model-worker" };
        worker.Start();
    }

    /// <summary>Requests that may wait at once.</summary>
    public int Capacity { get; }

    /// <summary>Rows decoded together at most.</summary>
    public int MaxBatch { get; }

    /// <summary>Prompt tokens admitted between two decode steps.</summary>
    public int PrefillTokensPerStep { get; }

    /// <summary>Requests a busy batch lets gather before it admits them together.</summary>
    public int MinJoinGroup { get; init; } = 4;

    /// <summary>Decode steps the oldest waiting request waits at most for its group to gather.</summary>
    public int MaxJoinDelaySteps { get; init; } = 4;

    /// <summary>Requests waiting (not yet admitted).</summary>
    public int Waiting { get { lock (gate) return waiting.Count; } }


    private sealed class Job(Func<IReadOnlyList<int[]>> prepare, GenerationOptions options, Action<GeneratedToken>? onToken,
        Func<IReadOnlyList<Completion>, object?> finish, CancellationToken cancellation)
    {
        public readonly Func<IReadOnlyList<int[]>> Prepare = prepare;
        public readonly GenerationOptions Options = options;
        public readonly Action<GeneratedToken>? OnToken = onToken;
        public readonly Func<IReadOnlyList<Completion>, object?> Finish = finish;
        public readonly CancellationToken Cancellation = cancellation;
        public readonly TaskCompletionSource<object?> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly List<BatchSequence> Sequences = [];
        public long QueuedAtStep;
    }

    /// <summary>
    /// Queues a request. <paramref name="prepare"/> runs on the worker when the request is admitted and returns its
    /// prompts (it may tokenize, and write to the client); every token goes to <paramref name="onToken"/> on the
    /// worker as it is made; <paramref name="finish"/> turns the completions (one per prompt) into the task's result,
    /// also on the worker. The task faults with the request's error, or is cancelled with
    /// <paramref name="cancellation"/>. Returns null when the queue is full or shutting down.
    /// </summary>
    public Task<T>? TryEnqueue<T>(Func<IReadOnlyList<int[]>> prepare, GenerationOptions options,
        Action<GeneratedToken>? onToken, Func<IReadOnlyList<Completion>, T> finish, CancellationToken cancellation)
    {
        var job = new Job(prepare, options, onToken, c => finish(c), cancellation);
        lock (gate)
        {
            if (stopping || waiting.Count >= Capacity) return null;
            job.QueuedAtStep = Interlocked.Read(ref decodeSteps);
            waiting.AddLast(job);
            Monitor.Pulse(gate);
        }
        return Result<T>(job.Done.Task);
    }

    private static async Task<T> Result<T>(Task<object?> done) => (T)(await done)!;

    private void Work()
    {
        using var batch = new ContinuousBatch(generator, prefixCacheTokens);
        var running = new List<Job>();
        while (true)
        {
            Admit(batch, running);
            ReportRows(batch);
            if (batch.Count == 0)
            {
                running.Clear();
                whenIdle?.Invoke(batch.HeldTensors);
                lock (gate)
                {
                    while (waiting.Count == 0 && !stopping) Monitor.Wait(gate);
                    if (waiting.Count == 0 && stopping) return;
                }
                continue;
            }
            var cancelled = running.Where(j => j.Cancellation.IsCancellationRequested).ToList();
            foreach (var job in cancelled) Fail(batch, running, job, null);
            ReportRows(batch);
            if (batch.Count == 0) continue;
            int before = batch.Count;
            try
            {
                batch.Step();
                Interlocked.Increment(ref decodeSteps);
                stepped?.Invoke(before);
            }
            catch (Exception e)   // a failed step fails every request in it
            {
                foreach (var job in running.ToList()) Fail(batch, running, job, e);
                continue;
            }
            finally { ReportRows(batch); }
            foreach (var job in running.Where(j => j.Sequences.All(s => s.Finished)).ToList()) Complete(running, job);
        }
    }

    /// <summary>
    /// Admits waiting requests at the head of the queue while they fit (rows, prefill budget, batch settings) and
    /// prefills them together.
    /// </summary>
    private void Admit(ContinuousBatch batch, List<Job> running)
    {
        int budget = PrefillTokensPerStep, rowsAfter = batch.Count;
        var group = new List<Job>();
        lock (gate)
        {
            // A busy batch takes newcomers in groups: a prefill of one short prompt costs about as much as a decode
            // step of the whole batch, so joining one by one at every step would spend the time on small prefills.
            // It takes them at once when the batch is at most half full or the oldest has waited MaxJoinDelaySteps.
            if (batch.Count > 0 && batch.Count > MaxBatch / 2 && waiting.Count < Math.Min(MinJoinGroup, MaxBatch - batch.Count)
                && waiting.First is { } oldest && Interlocked.Read(ref decodeSteps) - oldest.Value.QueuedAtStep < MaxJoinDelaySteps)
                return;
        }
        while (true)
        {
            Job job;
            lock (gate)
            {
                if (waiting.First is not { } first) break;
                job = first.Value;
                if (!job.Cancellation.IsCancellationRequested)
                {
                    bool idle = rowsAfter == 0;
                    if (!ContinuousBatch.CanBatch(job.Options) ? !idle
                        : !batch.Accepts(job.Options) || (group.Count > 0 && !ContinuousBatch.SameBatchSettings(group[0].Options, job.Options)))
                        break;   // waits for the batch to drain
                    if (!idle && (budget <= 0 || rowsAfter >= MaxBatch)) break;
                }
                waiting.RemoveFirst();
            }
            if (job.Cancellation.IsCancellationRequested) { job.Done.TrySetCanceled(job.Cancellation); continue; }
            if (!ContinuousBatch.CanBatch(job.Options)) { RunAlone(job); continue; }
            try
            {
                var prompts = job.Prepare();
                for (int i = 0; i < prompts.Count; i++)
                {
                    job.Sequences.Add(batch.Prepare(i, prompts[i], job.Options, job.OnToken));
                    budget -= prompts[i].Length;
                }
                rowsAfter += prompts.Count;
                group.Add(job);
            }
            catch (Exception e)   // bad input: this request fails, nothing of it runs
            {
                foreach (var s in job.Sequences) s.Dispose();
                job.Done.TrySetException(e);
            }
        }
        if (group.Count == 0) return;
        running.AddRange(group);
        long reusedBefore = batch.PrefixTokensReused;
        try { batch.Join(group.SelectMany(j => j.Sequences).ToList()); }
        catch (Exception e)
        {
            foreach (var job in group) Fail(batch, running, job, e);
            return;
        }
        finally { prefixCache?.Invoke(batch.PrefixTokensReused - reusedBefore, batch.PrefixCacheTokens); }
        foreach (var job in group)
            if (job.Sequences.All(s => s.Finished)) Complete(running, job);
    }

    /// <summary>A request that cannot be batched (no KV cache) runs by itself, as generation without a server does.</summary>
    private void RunAlone(Job job)
    {
        int rows = 0;
        try
        {
            var prompts = job.Prepare().Select(p => (IReadOnlyList<int>)p).ToList();
            rowsChanged?.Invoke(rows = prompts.Count);
            IReadOnlyList<Completion> result;
            if (job.OnToken is null) result = generator.Generate(prompts, job.Options, job.Cancellation);
            else
            {
                var tokens = prompts.Select(_ => new List<GeneratedToken>()).ToArray();
                foreach (var t in generator.Stream(prompts, job.Options, job.Cancellation)) { tokens[t.Row].Add(t); job.OnToken(t); }
                result = tokens.Select((list, i) => new Completion(prompts[i].ToArray(), list, string.Concat(list.Select(t => t.Text)),
                    list.LastOrDefault()?.Finish ?? FinishReason.Length)).ToList();
            }
            job.Done.TrySetResult(job.Finish(result));
        }
        catch (OperationCanceledException) { job.Done.TrySetCanceled(job.Cancellation); }
        catch (Exception e) { job.Done.TrySetException(e); }
        finally { rowsChanged?.Invoke(-rows); }
    }

    /// <summary>Tells <c>rowsChanged</c> how the rows decoding changed since it last heard.</summary>
    private void ReportRows(ContinuousBatch batch)
    {
        if (batch.Count == reportedRows) return;
        rowsChanged?.Invoke(batch.Count - reportedRows);
        reportedRows = batch.Count;
    }

    private static void Complete(List<Job> running, Job job)
    {
        running.Remove(job);
        try { job.Done.TrySetResult(job.Finish(job.Sequences.Select(s => s.ToCompletion()).ToList())); }
        catch (Exception e) { job.Done.TrySetException(e); }
    }

    private void Fail(ContinuousBatch batch, List<Job> running, Job job, Exception? error)
    {
        batch.Leave(job.Sequences);
        running.Remove(job);
        if (error is null || error is OperationCanceledException) job.Done.TrySetCanceled(job.Cancellation);
        else job.Done.TrySetException(error);
    }

    /// <summary>Stops taking requests, lets the admitted and waiting ones finish (cancelled ones end at once), and waits for the worker (at most 30 s).</summary>
    public void Dispose()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
        worker.Join(TimeSpan.FromSeconds(30));
    }
}
