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
using Deepen.Models;

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
        public DeepenModel Model { get; }
        public TextTokenizer Tokenizer { get; }
        public OpenAiServer Server { get; }
        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
        public ConcurrentQueue<string> Log { get; } = new();

        public Served(ServerOptions options)
        {
            Model = DeepenModel.Load(Files.Dir);
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

    [Theory]
    [InlineData(4096)]
    [InlineData(0)]
    public async Task PromptsThatStartAlikeAreServedFromThePrefixCacheWithTheSameAnswers(long budget)
    {
        await using var s = new Served(new ServerOptions { PrefixCacheTokens = budget });
        var direct = new Generator(s.Model, s.Tokenizer);
        string[] prompts = ["the quick brown dog ran", "the quick brown dog sat", "the quick brown dog ran"];
        foreach (var prompt in prompts)
        {
            var (status, body, response) = await s.Post($$"""{"prompt": "{{prompt}}", "max_tokens": 6, "temperature": 0, "stop": []}""");
            response.Dispose();
            Assert.Equal(HttpStatusCode.OK, status);
            var want = direct.Generate([prompt], new GenerationOptions { MaxNewTokens = 6, Depth = Depth, StopAtEos = true })[0].Text;
            Assert.Equal(want, body!["choices"]![0]!["text"]!.GetValue<string>());
        }
        using var scrape = await s.Http.GetAsync("metrics");
        var m = Parse(await scrape.Content.ReadAsStringAsync());
        if (budget == 0)
        {
            Assert.Equal(0, m["deepen_prefix_cache_reused_tokens_total"]);
            Assert.Equal(0, m["deepen_prefix_cache_tokens"]);
            return;
        }
        // The second prompt shares all but its last word with the first; the third repeats the first, so all but its last token come from the cache.
        int first = s.Tokenizer.Encode(prompts[0]).Length;
        Assert.True(m["deepen_prefix_cache_reused_tokens_total"] >= first, $"{m["deepen_prefix_cache_reused_tokens_total"]} tokens reused");
        Assert.InRange(m["deepen_prefix_cache_tokens"], first, 3 * first);
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

    /// <summary>Reads a server-sent-event stream to <c>[DONE]</c> and returns the text of its chunks.</summary>
    private static async Task<string> ReadStream(HttpClient http, string prompt)
    {
        var body = $$"""{"prompt": "{{prompt}}", "max_tokens": 12, "temperature": 0, "stream": true}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            if (line == "data: [DONE]") return text.ToString();
            text.Append(JsonNode.Parse(line[6..])!["choices"]![0]!["text"]!.GetValue<string>());
        }
        throw new InvalidOperationException($"the stream for '{prompt}' ended without [DONE]");
    }

    /// <summary>Opens a raw stream, reads until its first chunk and drops the connection with a reset.</summary>
    private static async Task LeaveMidStream(int port, string prompt)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(10));
        var body = $$"""{"prompt": "{{prompt}}", "max_tokens": 100, "temperature": 0.7, "seed": 1, "stream": true}""";
        await socket.SendAsync(Encoding.UTF8.GetBytes($"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}"));
        var received = new StringBuilder();
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (!received.ToString().Contains("data: ", StringComparison.Ordinal))
        {
            int n = await socket.ReceiveAsync(buffer, timeout.Token);
            if (n == 0) throw new InvalidOperationException("the server closed the connection before streaming");
            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        socket.Close();
    }

    [Fact]
    public async Task FiftyStreamingClientsSomeLeavingLoseNoRequestAndLeakNoTensor()
    {
        await using var s = new Served(new ServerOptions());
        var direct = new Generator(s.Model, s.Tokenizer);
        string Prompt(int i) => $"dog number {i}";
        async Task<double> Live()
        {
            using var scrape = await s.Http.GetAsync("metrics");
            return Parse(await scrape.Content.ReadAsStringAsync())["deepen_worker_live_tensors"];
        }
        await ReadStream(s.Http, "warm up");                                                         // lazily made state, if any
        double before = await Live();

        var leaving = new HashSet<int> { 3, 9, 14, 20, 27, 33, 38, 44, 49 };
        var streams = Enumerable.Range(0, 50).Select(i => leaving.Contains(i) ? LeaveMidStream(s.Server.Port, Prompt(i)).ContinueWith(t => { t.GetAwaiter().GetResult(); return (string?)null; })
                                                                              : ReadStream(s.Http, Prompt(i)).ContinueWith(t => (string?)t.GetAwaiter().GetResult())).ToList();
        var texts = await Task.WhenAll(streams);
        for (int i = 0; i < 50; i++)
        {
            if (leaving.Contains(i)) continue;
            var want = direct.Generate([Prompt(i)], new GenerationOptions { MaxNewTokens = 12, Depth = Depth })[0].Text;
            Assert.Equal(want, texts[i]);                                                            // every staying client got its own full answer
        }
        // A request that answered is counted before its last bytes ([DONE]) go out, so the stayers are counted by now;
        // a leaver is counted when the server notices it left, which may be later.
        for (int wait = 0; wait < 200 && s.Server.Metrics.Count(ServerMetrics.ClientClosed) < leaving.Count; wait++) await Task.Delay(100);
        Assert.Equal(leaving.Count, s.Server.Metrics.Count(ServerMetrics.ClientClosed));             // every leaver noticed and stopped
        Assert.Equal(50 - leaving.Count + 1, s.Server.Metrics.Count(200));                            // the stayers and the warm-up
        Assert.Equal(before, await Live());                                                          // no tensor outlives its request
    }
}
