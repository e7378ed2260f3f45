using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Deepen.Evaluation;
using Deepen.Inference;
using Deepen.Tokenization;
using Deepen.Models;

namespace Deepen.Server;

/// <summary>Settings of <see cref="OpenAiServer"/>.</summary>
public sealed record ServerOptions
{
    /// <summary>The address to bind: loopback by default. <c>0.0.0.0</c> or <c>*</c> bind every interface.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port; 0 picks a free one (see <see cref="OpenAiServer.Port"/>).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>Depth of a recurrent model when a request does not say (<c>recurrence</c>, <c>adaptive</c> extensions).</summary>
    public DepthOptions Depth { get; init; } = new();

    /// <summary>The KV cache's memory mode.</summary>
    public KvCacheOptions Cache { get; init; } = new();

    /// <summary>The chat format; null = recognised from the tokenizer's template.</summary>
    public ChatFormat? Chat { get; init; }

    /// <summary><c>max_tokens</c> when a completions request gives none (OpenAI's default, 16).</summary>
    public int DefaultCompletionTokens { get; init; } = 16;

    /// <summary><c>max_tokens</c> when a chat request gives none.</summary>
    public int DefaultChatTokens { get; init; } = 512;

    /// <summary>Requests that may wait for the model at once; more get HTTP 503.</summary>
    public int QueueCapacity { get; init; } = 256;

    /// <summary>Truncate prompts longer than the context (keeping the end) instead of answering 400.</summary>
    public bool TruncatePrompts { get; init; }

    /// <summary>Log one line per request: id, route, status, prompt tokens, new tokens, recurrences per token, milliseconds.</summary>
    public bool LogRequests { get; init; }

    /// <summary>Seconds a client is asked to wait (<c>Retry-After</c>) when the queue is full and it gets HTTP 503.</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    /// <summary>Rows decoded together at most (continuous batching, <see cref="BatchScheduler"/>); 1 = one request at a time.</summary>
    public int MaxBatch { get; init; } = 16;

    /// <summary>Prompt tokens admitted into the running batch between two decode steps.</summary>
    public int PrefillTokensPerStep { get; init; } = 512;

    /// <summary>
    /// Prompt tokens whose keys and values the prefix cache keeps for later prompts that start the same way
    /// (<see cref="ContinuousBatch"/>); 0 turns prefix caching off.
    /// </summary>
    public long PrefixCacheTokens { get; init; } = 4096;
}

/// <summary>What one request used, filled in by its handler (on the model worker) and read when it ends.</summary>
internal sealed class RequestUsage
{
    public string? Id;
    public int PromptTokens, NewTokens;
    public long Recurrences;

    public void Add(GeneratedToken t) { NewTokens++; Recurrences += t.Depth; }

    /// <summary>Counts the request with its status, once: set by the server for every route but /metrics.</summary>
    public Action<int>? Count;
    private int counted;

    /// <summary>
    /// Counts the request now. The response writers call it before the last bytes go out, so a client that has read its
    /// answer finds it in the next scrape; a request that ends without them (the client left) is counted at the end.
    /// </summary>
    public void Finish(int status)
    {
        if (Interlocked.Exchange(ref counted, 1) == 0) Count?.Invoke(status);
    }
}

/// <summary>
/// An OpenAI-compatible HTTP server over one Deepen model (System.Net.HttpListener, so no web framework comes
/// along): <c>GET /v1/models</c>, <c>POST /v1/completions</c> (text or token-id prompts, batches, <c>echo</c> and
/// <c>logprobs</c> as lm-evaluation-harness's <c>local-completions</c> model uses them, streaming) and
/// <c>POST /v1/chat/completions</c> (the model's chat format, streaming) and <c>GET /metrics</c> (Prometheus,
/// <see cref="ServerMetrics"/>). Model work runs on one worker thread that batches
/// requests continuously in arrival order (<see cref="BatchScheduler"/>); malformed requests get HTTP 400 with a JSON error; a client that
/// disconnects mid-stream cancels its own generation and nothing else.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    private readonly Generator generator;
    private readonly TextTokenizer tokenizer;
    private readonly ServerOptions options;
    private readonly ChatFormat chat;
    private readonly IReadOnlyList<int> chatStopIds;
    private readonly BatchScheduler queue;
    private readonly ServerMetrics metrics;
    private readonly HttpListener listener = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private Task? acceptLoop;
    private long requestCounter;

    /// <param name="model">The model (the server does not dispose it).</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="options">Address, defaults and limits.</param>
    /// <param name="log">Receives one line per notable event (start, errors, disconnects).</param>
    public OpenAiServer(DeepenModel model, TextTokenizer tokenizer, ServerOptions? options = null, Action<string>? log = null)
    {
        this.options = options ?? new ServerOptions();
        this.options.Depth.Validate();
        this.options.Cache.Validate();
        this.tokenizer = tokenizer;
        generator = new Generator(model, tokenizer);
        chat = this.options.Chat ?? ChatFormat.For(tokenizer);
        chatStopIds = chat.StopTokenIds(tokenizer);
        metrics = new ServerMetrics(() => queue!.Waiting);
        queue = new BatchScheduler(generator, this.options.QueueCapacity, this.options.MaxBatch, this.options.PrefillTokensPerStep,
            whenIdle: held => metrics.LiveTensors(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount - held),
            rowsChanged: metrics.Rows, stepped: metrics.DecodeStep, prefixCacheTokens: this.options.PrefixCacheTokens, prefixCache: metrics.PrefixCache);
        Log = log ?? (_ => { });
        if (chat.Notice is not null) Log($"chat: {chat.Notice}");
    }

    private Action<string> Log { get; }

    /// <summary>The model id reported by <c>/v1/models</c>.</summary>
    public string ModelId => generator.Model.Name;

    /// <summary>The port the server listens on (after <see cref="Start"/>).</summary>
    public int Port { get; private set; }

    /// <summary>The base address, e.g. <c>http://127.0.0.1:8000/</c>.</summary>
    public string BaseAddress => $"http://{(options.Host is "0.0.0.0" or "*" or "+" ? "127.0.0.1" : options.Host)}:{Port}/";

    /// <summary>The counters <c>GET /metrics</c> shows.</summary>
    public ServerMetrics Metrics => metrics;

    /// <summary>Requests whose client went away before the answer was complete.</summary>
    public long Disconnects => Interlocked.Read(ref disconnects);
    private long disconnects;

    /// <summary>Binds and starts answering.</summary>
    /// <exception cref="DeepenException">The address cannot be bound.</exception>
    public void Start()
    {
        Port = options.Port != 0 ? options.Port : FreePort();
        var host = options.Host is "0.0.0.0" or "*" ? "*" : options.Host;
        listener.Prefixes.Add($"http://{host}:{Port}/");
        try { listener.Start(); }
        catch (HttpListenerException e)
        {
            throw new DeepenException($"cannot listen on {host}:{Port}: {e.Message}");
        }
        acceptLoop = Task.Run(AcceptLoop);
        Log($"serving {ModelId} on {BaseAddress} (OpenAI API: /v1/models, /v1/completions, /v1/chat/completions; Prometheus: /metrics; chat format {chat})");
    }

    /// <summary>Waits until the server is stopped (<see cref="DisposeAsync"/>) or <paramref name="cancellation"/> fires.</summary>
    public async Task RunUntilCancelledAsync(CancellationToken cancellation)
    {
        try { await Task.Delay(Timeout.Infinite, cancellation); }
        catch (OperationCanceledException) { }
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task AcceptLoop()
    {
        while (!stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception) when (stopping.IsCancellationRequested || !listener.IsListening) { return; }
            catch (HttpListenerException e) { Log($"accept failed: {e.Message}"); continue; }
            _ = Task.Run(() => Handle(context));
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var request = context.Request;
        var response = context.Response;
        var path = request.Url?.AbsolutePath.TrimEnd('/') ?? "";
        var usage = new RequestUsage();
        if (path != "/metrics")
            usage.Count = status =>
            {
                metrics.Request(status, clock.Elapsed);
                metrics.Generated(usage.NewTokens, usage.Recurrences);
                if (options.LogRequests)
                    Log(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"request {usage.Id ?? "-"} {request.HttpMethod} {path} {status}: prompt {usage.PromptTokens} tokens, {usage.NewTokens} new, {(usage.NewTokens == 0 ? 0 : usage.Recurrences / (double)usage.NewTokens):F2} recurrences/token, {clock.Elapsed.TotalMilliseconds:F0} ms"));
            };
        int status = 500;
        try
        {
            switch (request.HttpMethod, path)
            {
                case ("GET", "/v1/models"):
                    await WriteJson(response, 200, Models(), usage);
                    break;
                case ("GET", "/metrics"):
                    await WriteText(response, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.Render(), usage);
                    break;
                case ("POST", "/v1/completions"):
                    await Completions(context, OpenAiRequest.Completion(OpenAiRequest.ParseBody(await ReadBody(request))), usage);
                    break;
                case ("POST", "/v1/chat/completions"):
                    await ChatCompletions(context, OpenAiRequest.Chat(OpenAiRequest.ParseBody(await ReadBody(request))), usage);
                    break;
                case (_, "/v1/models" or "/v1/completions" or "/v1/chat/completions" or "/metrics"):
                    throw new BadRequestException($"{request.HttpMethod} is not allowed on {path}.", status: 405);
                default:
                    throw new BadRequestException($"no route {request.HttpMethod} {path}; this server has GET /v1/models, POST /v1/completions, POST /v1/chat/completions and GET /metrics.", status: 404);
            }
            status = response.StatusCode;
        }
        catch (BadRequestException e)
        {
            status = e.Status;
            if (e.Status == 503) TrySetHeader(response, "Retry-After", options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await TryWriteError(response, usage, e.Status, e.Message, e.Param);
        }
        catch (DeepenException e)
        {
            status = 400;
            await TryWriteError(response, usage, 400, e.Message, null);
        }
        catch (ClientGoneException)
        {
            status = ServerMetrics.ClientClosed;
            Interlocked.Increment(ref disconnects);
            Log("a client disconnected before its answer was complete; its generation was stopped.");
        }
        catch (Exception e)
        {
            Log($"internal error: {e}");
            status = 500;
            await TryWriteError(response, usage, 500, $"internal error: {e.GetType().Name}: {e.Message}", null, "server_error");
        }
        finally
        {
            usage.Finish(status);   // a request that sent no last bytes (the client left) is counted here
            try { response.Close(); } catch (Exception) { /* the client is gone */ }
        }
    }

    private static void TrySetHeader(HttpListenerResponse response, string name, string value)
    {
        try { response.Headers[name] = value; } catch (InvalidOperationException) { /* headers already sent */ }
    }

    private JsonObject Models() => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(new JsonObject
        {
            ["id"] = ModelId, ["object"] = "model", ["created"] = created, ["owned_by"] = "deepen",
            ["max_model_len"] = generator.Model.ContextLength,
        }),
    };

    private GenerationOptions OptionsFor(CommonFields c, int defaultTokens, IReadOnlyList<string> extraStops, IReadOnlyList<int> stopIds) => new()
    {
        MaxNewTokens = c.MaxTokens ?? defaultTokens,
        Sampling = c.Sampling,
        Seed = c.Seed,
        StopStrings = [.. c.Stop, .. extraStops],
        StopTokenIds = stopIds,
        Depth = (c.Recurrence, c.Adaptive) switch
        {
            (null, null) => options.Depth,
            (int r, null) => options.Depth with { Recurrence = r, Exit = null },                          // a fixed depth
            (var r, var exit) => options.Depth with { Recurrence = r ?? options.Depth.Recurrence, Exit = exit },   // adaptive, r = the maximum
        },
        Cache = options.Cache,
        TruncatePrompt = options.TruncatePrompts,
    };

    // The tokenizer and the model are used on the worker thread only: requests are encoded, generated and decoded there.

    private async Task Completions(HttpListenerContext context, CompletionRequest r, RequestUsage usage)
    {
        var genOptions = OptionsFor(r.Common, options.DefaultCompletionTokens, [], []) with
        {
            TopLogProbs = r.LogProbs ?? 0,
            PromptLogProbs = r.Echo && r.LogProbs is not null,
        };
        string id = usage.Id = $"cmpl-{Interlocked.Increment(ref requestCounter)}";
        List<int[]> Encode()
        {
            var ids = r.Prompts.Select(p => p.Ids ?? generator.EncodePrompt(p.Text!)).ToList();
            usage.PromptTokens = ids.Sum(p => p.Length);
            return ids;
        }
        string PromptText(int i, int[] ids) => r.Prompts[i].Text ?? tokenizer.Decode(ids, skipSpecialTokens: false);
        if (r.Common.Stream)
        {
            await Stream(context, () =>
            {
                var prompts = Encode();
                return (prompts, r.Echo ? prompts.Select((p, i) => PromptText(i, p)).ToList() : null);
            }, genOptions, usage, (row, piece, finish) => Envelope(id, "text_completion", new JsonArray(new JsonObject
            {
                ["index"] = row, ["text"] = piece, ["logprobs"] = null, ["finish_reason"] = FinishName(finish),
            })));
            return;
        }
        List<int[]> prompts = [];
        var body = await Scheduled(() => prompts = Encode(), genOptions, usage, null, completions =>
            Envelope(id, "text_completion", new JsonArray(completions.Select((c, i) => new JsonObject
            {
                ["index"] = i,
                ["text"] = (r.Echo ? PromptText(i, prompts[i]) : "") + c.Text,
                ["logprobs"] = r.LogProbs is null ? null : LogProbs(c, r.Echo),
                ["finish_reason"] = FinishName(c.Finish),
            }).ToArray()), Usage(completions.Sum(c => c.PromptIds.Length), completions.Sum(c => c.Tokens.Count))));
        await WriteJson(context.Response, 200, body, usage);
    }

    private async Task ChatCompletions(HttpListenerContext context, ChatRequest r, RequestUsage usage)
    {
        var genOptions = OptionsFor(r.Common, options.DefaultChatTokens, chat.StopStrings, chatStopIds);
        string id = usage.Id = $"chatcmpl-{Interlocked.Increment(ref requestCounter)}";
        List<int[]> Encode()
        {
            var ids = chat.Encode(tokenizer, r.Messages);
            usage.PromptTokens = ids.Length;
            return [ids];
        }
        if (r.Common.Stream)
        {
            bool first = true;
            await Stream(context, () => (Encode(), null), genOptions, usage, (row, piece, finish) =>
            {
                var delta = new JsonObject();
                if (first) { delta["role"] = "assistant"; first = false; }
                if (finish is null || piece.Length > 0) delta["content"] = piece;
                return Envelope(id, "chat.completion.chunk",
                    new JsonArray(new JsonObject { ["index"] = row, ["delta"] = delta, ["finish_reason"] = FinishName(finish) }));
            });
            return;
        }
        var c = await Scheduled(Encode, genOptions, usage, null, completions => completions[0]);
        await WriteJson(context.Response, 200, usage: usage, body: Envelope(id, "chat.completion", new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = c.Text },
            ["logprobs"] = null,
            ["finish_reason"] = FinishName(c.Finish),
        }), Usage(c.PromptIds.Length, c.Tokens.Count)));
    }

    /// <summary>The fields every completion answer and stream chunk starts with, in OpenAI's order.</summary>
    private JsonObject Envelope(string id, string type, JsonArray choices, JsonObject? usage = null)
    {
        var body = new JsonObject { ["id"] = id, ["object"] = type, ["created"] = Now(), ["model"] = ModelId, ["choices"] = choices };
        if (usage is not null) body["usage"] = usage;
        return body;
    }

    /// <summary>
    /// Queues a generation on the model worker: <paramref name="prepare"/> (tokenizing) and <paramref name="finish"/>
    /// (building the answer, which may decode) run there; each token is counted in <paramref name="usage"/>. A full
    /// queue is HTTP 503.
    /// </summary>
    private Task<T> Scheduled<T>(Func<IReadOnlyList<int[]>> prepare, GenerationOptions genOptions, RequestUsage usage,
        Action<GeneratedToken>? onToken, Func<IReadOnlyList<Completion>, T> finish, CancellationToken cancellation = default)
    {
        var token = cancellation.CanBeCanceled ? cancellation : stopping.Token;
        return queue.TryEnqueue(prepare, genOptions, t => { usage.Add(t); onToken?.Invoke(t); }, finish, token)
               ?? throw new BadRequestException($"the server is busy ({options.QueueCapacity} requests waiting); try again later.", status: 503);
    }

    /// <summary>
    /// Streams a generation as server-sent events: one <c>data:</c> line per piece of text, then a last chunk with the
    /// finish reason and <c>data: [DONE]</c>. The worker writes pieces into a channel and this request's thread sends
    /// them; if sending fails (the client left), the generation is cancelled.
    /// </summary>
    private async Task Stream(HttpListenerContext context, Func<(List<int[]> Prompts, List<string>? Echo)> prepare,
        GenerationOptions genOptions, RequestUsage usage, Func<int, string, FinishReason?, JsonObject> chunk)
    {
        var channel = Channel.CreateUnbounded<JsonObject>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        var done = Scheduled(() =>
            {
                var (prompts, echoPrompts) = prepare();
                if (echoPrompts is not null)
                    for (int i = 0; i < echoPrompts.Count; i++) channel.Writer.TryWrite(chunk(i, echoPrompts[i], null));
                return prompts;
            }, genOptions, usage, t =>
            {
                if (t.Text.Length > 0 || t.Finish is null) channel.Writer.TryWrite(chunk(t.Row, t.Text, null));
                if (t.Finish is not null) channel.Writer.TryWrite(chunk(t.Row, "", t.Finish));
            }, completions =>
            {
                if (genOptions.MaxNewTokens == 0)
                    for (int i = 0; i < completions.Count; i++) channel.Writer.TryWrite(chunk(i, "", FinishReason.Length));
                channel.Writer.TryComplete();
                return completions.Count;
            }, cancel.Token);
        _ = done.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException ?? new OperationCanceledException()),
            CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);

        var response = context.Response;
        bool started = false;
        void Begin() { response.StatusCode = 200; response.ContentType = "text/event-stream; charset=utf-8"; response.SendChunked = true; }
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync())
            {
                if (!started) { Begin(); response.Headers["Cache-Control"] = "no-cache"; started = true; }
                await Send(response, "data: " + item.ToJsonString(Compact) + "\n\n");
            }
            if (!started) Begin();   // nothing was generated (e.g. no prompts): still a valid, empty stream
            usage.Finish(200);
            await Send(response, "data: [DONE]\n\n");
        }
        catch (ClientGoneException)
        {
            cancel.Cancel();
            try { await done; } catch (Exception) { /* cancelled: expected */ }
            throw;
        }
        catch (Exception) when (!started)
        {
            // The generation failed before any byte was sent: answer with an ordinary JSON error.
            await done;   // rethrows the job's exception (DeepenException → 400)
            throw;
        }
        await done;
    }

    private static async Task Send(HttpListenerResponse response, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        try
        {
            await response.OutputStream.WriteAsync(bytes);
            await response.OutputStream.FlushAsync();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            throw new ClientGoneException();
        }
    }

    private JsonObject LogProbs(Completion c, bool echo)
    {
        var tokens = new JsonArray();
        var tokenLogProbs = new JsonArray();
        var top = new JsonArray();
        var offsets = new JsonArray();
        int offset = 0;
        void Add(int id, double? logprob, IReadOnlyList<TokenLogProb>? alternatives)
        {
            var text = tokenizer.Decode([id], skipSpecialTokens: false);
            tokens.Add(text);
            tokenLogProbs.Add(logprob);
            offsets.Add(offset);
            offset += text.Length;
            if (logprob is null) { top.Add(null); return; }
            var dict = new JsonObject();
            foreach (var a in alternatives ?? [])
            {
                var key = tokenizer.Decode([a.Id], skipSpecialTokens: false);
                if (!dict.ContainsKey(key)) dict[key] = a.LogProb;
            }
            top.Add(dict);
        }
        if (echo && c.PromptLogProbs is { } scores)
            foreach (var s in scores) Add(s.Id, s.LogProb, s.Top);
        foreach (var t in c.Tokens) Add(t.Id, t.LogProb, t.TopLogProbs);
        return new JsonObject { ["tokens"] = tokens, ["token_logprobs"] = tokenLogProbs, ["top_logprobs"] = top, ["text_offset"] = offsets };
    }

    private static JsonObject Usage(int prompt, int completion) =>
        new() { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };

    private static string? FinishName(FinishReason? f) => f switch
    {
        null => null,
        FinishReason.Length => "length",
        _ => "stop",
    };

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task<string> ReadBody(HttpListenerRequest request)
    {
        using var reader = new StreamReader(request.InputStream, request.ContentEncoding ?? Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    private static Task WriteJson(HttpListenerResponse response, int status, JsonObject body, RequestUsage usage) =>
        WriteText(response, status, "application/json; charset=utf-8", body.ToJsonString(Compact), usage);

    private static async Task WriteText(HttpListenerResponse response, int status, string contentType, string text, RequestUsage usage)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        usage.Finish(status);
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength64 = bytes.Length;
        try { await response.OutputStream.WriteAsync(bytes); }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            throw new ClientGoneException();
        }
    }

    private async Task TryWriteError(HttpListenerResponse response, RequestUsage usage, int status, string message, string? param, string type = "invalid_request_error")
    {
        try
        {
            await WriteJson(response, status, new JsonObject
            {
                ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = null },
            }, usage);
        }
        catch (Exception e) when (e is ClientGoneException or InvalidOperationException)
        {
            Interlocked.Increment(ref disconnects);   // headers already sent (mid-stream failure) or the client left
            Log($"could not send error '{message}' to the client: {e.Message}");
        }
    }

    /// <summary>Stops listening, cancels running generations, and waits for the worker.</summary>
    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        try { listener.Stop(); } catch (ObjectDisposedException) { }
        if (acceptLoop is not null) await acceptLoop;
        listener.Close();
        queue.Dispose();
        stopping.Dispose();
    }

    private sealed class ClientGoneException : Exception;
}
