using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Deepen.Server;

/// <summary>
/// The server's counters in the Prometheus text format (<c>GET /metrics</c>, exposition format 0.0.4): requests by
/// HTTP status, the queue's depth, the rows being decoded, the decode steps and their rows, tokens generated, recurrences per token and a latency
/// histogram, and the prefix cache's reused and held tokens. Every update is lock-free (<see cref="Interlocked"/>), so request threads and the model worker can
/// record at once; a scrape reads each counter once and may see one request's counters half updated.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>Upper bounds (seconds) of the latency histogram's buckets; +Inf is implied.</summary>
    public static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    /// <summary>The status recorded for a client that left before its answer was complete (nginx's "client closed request").</summary>
    public const int ClientClosed = 499;

    private readonly ConcurrentDictionary<int, long> byStatus = new();
    private readonly long[] bucketCounts = new long[LatencyBuckets.Length + 1];
    private readonly Func<int> queueDepth;
    private long latencyMicros, requests, tokens, recurrences, runningRows, liveTensors, decodeSteps, decodeRows, prefixReused, prefixHeld;

    /// <param name="queueDepth">Requests waiting for the model, read at each scrape.</param>
    public ServerMetrics(Func<int> queueDepth) => this.queueDepth = queueDepth;

    /// <summary>A finished request: its HTTP status and its wall time from arrival to the last byte.</summary>
    public void Request(int status, TimeSpan elapsed)
    {
        byStatus.AddOrUpdate(status, 1, (_, n) => n + 1);
        double s = elapsed.TotalSeconds;
        int bucket = Array.FindIndex(LatencyBuckets, b => s <= b);
        Interlocked.Increment(ref bucketCounts[bucket < 0 ? LatencyBuckets.Length : bucket]);
        Interlocked.Add(ref latencyMicros, (long)(elapsed.Ticks / 10));
        Interlocked.Increment(ref requests);
    }

    /// <summary>Tokens generated and the recurrences spent on them (a plain model spends one per token).</summary>
    public void Generated(int count, long recurrenceSum)
    {
        Interlocked.Add(ref tokens, count);
        Interlocked.Add(ref recurrences, recurrenceSum);
    }

    /// <summary>Rows start (positive) or stop (negative) being decoded.</summary>
    public void Rows(int delta) => Interlocked.Add(ref runningRows, delta);

    /// <summary>A decode step of the running batch over <paramref name="rows"/> rows.</summary>
    public void DecodeStep(int rows)
    {
        Interlocked.Increment(ref decodeSteps);
        Interlocked.Add(ref decodeRows, rows);
    }

    /// <summary>Decode steps so far and the rows they decoded in all (their ratio is the mean batch size).</summary>
    public (long Steps, long Rows) Decoded => (Interlocked.Read(ref decodeSteps), Interlocked.Read(ref decodeRows));

    /// <summary>A join took <paramref name="reused"/> prompt tokens from the prefix cache, which now holds <paramref name="held"/> tokens.</summary>
    public void PrefixCache(long reused, long held)
    {
        Interlocked.Add(ref prefixReused, reused);
        Interlocked.Exchange(ref prefixHeld, held);
    }

    /// <summary>Prompt tokens taken from the prefix cache so far.</summary>
    public long PrefixTokensReused => Interlocked.Read(ref prefixReused);

    /// <summary>TorchSharp tensors alive on the model worker between requests: constant when nothing leaks.</summary>
    public void LiveTensors(long count) => Interlocked.Exchange(ref liveTensors, count);

    /// <summary>Requests answered with <paramref name="status"/> so far.</summary>
    public long Count(int status) => byStatus.TryGetValue(status, out var n) ? n : 0;

    /// <summary>The exposition text.</summary>
    public string Render()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        void Metric(string name, string type, string help)
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        }
        void Value(string name, string type, string help, object value)
        {
            Metric(name, type, help);
            sb.Append(name).Append(' ').Append(value).Append('\n');
        }
        Metric("deepen_requests_total", "counter", "Requests answered, by HTTP status (499: the client left first).");
        foreach (var (status, n) in byStatus.OrderBy(kv => kv.Key))
            sb.Append("deepen_requests_total{status=\"").Append(status).Append("\"} ").Append(n).Append('\n');
        Value("deepen_queue_depth", "gauge", "Requests waiting for the model.", queueDepth());
        Value("deepen_running_batch_size", "gauge", "Rows (prompts) being decoded now.", Interlocked.Read(ref runningRows));
        Value("deepen_decode_steps_total", "counter", "Decode steps of the running batch (one token for every row).", Interlocked.Read(ref decodeSteps));
        Value("deepen_decode_rows_total", "counter", "Rows decoded over all decode steps (divided by deepen_decode_steps_total: the mean batch size).", Interlocked.Read(ref decodeRows));
        Value("deepen_worker_live_tensors", "gauge", "TorchSharp tensors alive on the model worker when its batch last drained, less the prefix cache's (constant when nothing leaks).", Interlocked.Read(ref liveTensors));
        Value("deepen_prefix_cache_reused_tokens_total", "counter", "Prompt tokens whose keys and values came from the prefix cache instead of a prefill.", Interlocked.Read(ref prefixReused));
        Value("deepen_prefix_cache_tokens", "gauge", "Prompt tokens the prefix cache holds.", Interlocked.Read(ref prefixHeld));
        long t = Interlocked.Read(ref tokens), r = Interlocked.Read(ref recurrences);
        Value("deepen_generated_tokens_total", "counter", "Tokens generated.", t);
        Value("deepen_recurrences_total", "counter", "Recurrences of the shared block spent on generated tokens (1 per token for a plain model).", r);
        Value("deepen_mean_recurrences_per_token", "gauge", "deepen_recurrences_total / deepen_generated_tokens_total (0 before the first token).",
            (t == 0 ? 0.0 : r / (double)t).ToString("R", inv));
        Metric("deepen_request_duration_seconds", "histogram", "Wall time of a request, from arrival to its last byte.");
        long cumulative = 0;
        for (int i = 0; i <= LatencyBuckets.Length; i++)
        {
            cumulative += Interlocked.Read(ref bucketCounts[i]);
            var le = i < LatencyBuckets.Length ? LatencyBuckets[i].ToString("R", inv) : "+Inf";
            sb.Append("deepen_request_duration_seconds_bucket{le=\"").Append(le).Append("\"} ").Append(cumulative).Append('\n');
        }
        sb.Append("deepen_request_duration_seconds_sum ").Append((Interlocked.Read(ref latencyMicros) / 1e6).ToString("R", inv)).Append('\n');
        sb.Append("deepen_request_duration_seconds_count ").Append(Interlocked.Read(ref requests)).Append('\n');
        return sb.ToString();
    }
}
