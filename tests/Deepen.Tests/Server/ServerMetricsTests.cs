using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Server;
using Deepen.Tests.Inference;
using Deepen.Tokenization;

namespace Deepen.Tests.Server;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text format counts what the server did (requests by status, tokens,
/// recurrences, a latency histogram), <c>--log-requests</c> writes one line per request, and a full queue answers
/// 503 with <c>Retry-After</c>. Each test runs its own server so that counts start at zero.
/// </summary>
public sealed class ServerMetricsTests
{
    private static readonly DepthOptions Depth = DepthOptions.Fixed(3, StateInit.Zeros);

    private sealed class Served : IAsyncDisposable
    {
        public TinyTextModel Files { get; } = new(context: 128);
        public InferenceModel Model { get; }
        public TextTokenizer Tokenizer { get; }
        public OpenAiServer Server { get; }
        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
        public ConcurrentQueue<string> Log { get; } = new();

        public Served(ServerOptions options)
        {
            Model = InferenceModel.Load(Files.Dir);
            Tokenizer = TextTokenizer.FromDirectory(Files.Dir);
            Server = new OpenAiServer(Model, Tokenizer, options with { Port = 0, Depth = Depth }, Log.Enqueue);
            Server.Start();
            Http.BaseAddress = new Uri(Server.BaseAddress);
        }

        public async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Post(string json)
        {
            var response = await Http.PostAsync("v1/completions", new StringContent(json, Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.StartsWith('{') ? JsonNode.Parse(text) : null, response);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Server.DisposeAsync();
            Model.Dispose();
            Tokenizer.Dispose();
            Files.Dispose();
        }
    }

    /// <summary>The samples of an exposition: "name{labels}" → value; every sample line must parse.</summary>
    private static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#')) { Assert.Matches(@"^# (HELP|TYPE) deepen_[a-z_]+ .+$", line); continue; }
            int space = line.LastIndexOf(' ');
            Assert.True(space > 0, line);
            samples.Add(line[..space], double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture));
        }
        return samples;
    }

    [Fact]
    public async Task MetricsCountRequestsTokensRecurrencesAndLatency()
    {
        await using var s = new Served(new ServerOptions { LogRequests = true });
        int completionTokens = 0;
        foreach (var prompt in new[] { "the quick brown", "dog number 5" })
        {
            var (status, body, response) = await s.Post($$"""{"prompt": "{{prompt}}", "max_tokens": 7, "temperature": 0}""");
            response.Dispose();
            Assert.Equal(HttpStatusCode.OK, status);
            completionTokens += body!["usage"]!["completion_tokens"]!.GetValue<int>();
        }
        var (bad, _, badResponse) = await s.Post("""{"prompt": "x", "max_tokens": -3}""");
        badResponse.Dispose();
        Assert.Equal(HttpStatusCode.BadRequest, bad);

        using var scrape = await s.Http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType!.ToString());
        var m = Parse(await scrape.Content.ReadAsStringAsync());
        Assert.Equal(2, m["deepen_requests_total{status=\"200\"}"]);
        Assert.Equal(1, m["deepen_requests_total{status=\"400\"}"]);
        Assert.Equal(completionTokens, m["deepen_generated_tokens_total"]);
        Assert.Equal(3.0 * completionTokens, m["deepen_recurrences_total"]);                       // a fixed depth of 3
        Assert.Equal(3.0, m["deepen_mean_recurrences_per_token"]);
        Assert.Equal(0, m["deepen_queue_depth"]);
        Assert.Equal(0, m["deepen_running_batch_size"]);
        Assert.Equal(3, m["deepen_request_duration_seconds_count"]);                                // the scrape itself is not counted
        Assert.Equal(3, m["deepen_request_duration_seconds_bucket{le=\"+Inf\"}"]);
        var buckets = ServerMetrics.LatencyBuckets.Select(b => m[$"deepen_request_duration_seconds_bucket{{le=\"{b.ToString("R", CultureInfo.InvariantCulture)}\"}}"]).ToList();
        Assert.Equal(buckets.Order(), buckets);                                                      // cumulative
        Assert.True(m["deepen_request_duration_seconds_sum"] > 0);

        var lines = s.Log.Where(l => l.StartsWith("request ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Contains(lines, l => l.StartsWith("request cmpl-1 POST /v1/completions 200: prompt ", StringComparison.Ordinal) && l.Contains(" new, 3.00 recurrences/token, ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("POST /v1/completions 400: prompt 0 tokens, 0 new", StringComparison.Ordinal));
        using var post = await s.Http.PostAsync("metrics", new StringContent(""));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    [Fact]
    public async Task AFullQueueAnswers503WithRetryAfterAndTheOthersAreServed()
    {
        await using var s = new Served(new ServerOptions { QueueCapacity = 1, RetryAfterSeconds = 2 });
        // One request runs and one waits; the rest arrive while both are in flight (each asks for 100 tokens).
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            s.Post($$"""{"prompt": "dog number {{i}}", "max_tokens": 100, "temperature": 0, "stop": []}""")));
        try
        {
            var busy = answers.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ToList();
            Assert.NotEmpty(busy);
            Assert.Contains(answers, a => a.Status == HttpStatusCode.OK);
            Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, a.Status.ToString()));
            foreach (var b in busy)
            {
                Assert.Equal(TimeSpan.FromSeconds(2), b.Response.Headers.RetryAfter!.Delta);
                Assert.Contains("the server is busy", b.Body!["error"]!["message"]!.GetValue<string>());
            }
            Assert.Equal(busy.Count, s.Server.Metrics.Count(503));
            Assert.Equal(answers.Length - busy.Count, s.Server.Metrics.Count(200));
        }
        finally
        {
            foreach (var a in answers) a.Response.Dispose();
        }
    }
}
