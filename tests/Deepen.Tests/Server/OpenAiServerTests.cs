using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deepen.Evaluation;
using Deepen.Inference;
using Deepen.Server;
using Deepen.Modeling;
using Deepen.Tests.Inference;
using Deepen.Tokenization;
using Generator = Deepen.Inference.Generator;
using Deepen.Models;

namespace Deepen.Tests.Server;

/// <summary>
/// The OpenAI-compatible server on loopback: models, completions with echo and logprobs read exactly as
/// lm-eval's local-completions reads them, streaming chat, 20 concurrent requests all answered correctly,
/// malformed and invalid requests answered 400 with a JSON error, and a client leaving mid-stream.
/// </summary>
public sealed class OpenAiServerTests : IClassFixture<OpenAiServerTests.Running>
{
    public sealed class Running : IAsyncLifetime
    {
        public TinyTextModel Files { get; } = new(context: 128);
        public DeepenModel Model { get; private set; } = null!;
        public TextTokenizer Tokenizer { get; private set; } = null!;
        public OpenAiServer Server { get; private set; } = null!;
        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
        public static readonly DepthOptions Depth = DepthOptions.Fixed(2, StateInit.Zeros);

        public Task InitializeAsync()
        {
            Model = DeepenModel.Load(Files.Dir);
            Tokenizer = TextTokenizer.FromDirectory(Files.Dir);
            Server = new OpenAiServer(Model, Tokenizer, new ServerOptions { Port = 0, Depth = Depth });
            Server.Start();
            Http.BaseAddress = new Uri(Server.BaseAddress);
            return Task.CompletedTask;
        }

        public async Task DisposeAsync()
        {
            Http.Dispose();
            await Server.DisposeAsync();
            Model.Dispose();
            Tokenizer.Dispose();
            Files.Dispose();
        }
    }

    private readonly Running s;
    public OpenAiServerTests(Running s) => this.s = s;

    private Generator Direct => new(s.Model, s.Tokenizer);

    private async Task<(HttpStatusCode Status, JsonNode Body)> Post(string path, string json)
    {
        using var response = await s.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)!);
    }

    private Task<(HttpStatusCode Status, JsonNode Body)> Post(string path, JsonObject body) => Post(path, body.ToJsonString());

    [Fact]
    public async Task ModelsListsTheModel()
    {
        var body = JsonNode.Parse(await s.Http.GetStringAsync("v1/models"))!;
        Assert.Equal("list", body["object"]!.GetValue<string>());
        Assert.Equal(s.Server.ModelId, body["data"]![0]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task EchoLogprobsGiveLmEvalTheLogLikelihood()
    {
        // lm-eval's loglikelihood request: token ids of context + continuation, max_tokens 1, logprobs 1, echo.
        var adapter = new ModelLanguageModel(s.Model, s.Tokenizer, new ModelLanguageModelOptions { Depth = Running.Depth });
        (string, string)[] pairs = [("Q: what is 3 plus 4? A:", " it is 7."), ("The quick brown", " fox jumps")];
        var encoded = pairs.Select(p => adapter.EncodePair(p.Item1, p.Item2)).ToArray();
        var expected = adapter.LogLikelihood(pairs);
        var (status, body) = await Post("v1/completions", new JsonObject
        {
            ["model"] = "anything", ["prompt"] = new JsonArray(encoded.Select(e => (JsonNode)new JsonArray(e.Context.Concat(e.Continuation).Select(i => (JsonNode)i).ToArray())).ToArray()),
            ["temperature"] = 0, ["max_tokens"] = 1, ["logprobs"] = 1, ["seed"] = 1234, ["echo"] = true,
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var choices = body["choices"]!.AsArray().OrderBy(c => c!["index"]!.GetValue<int>()).ToList();
        for (int i = 0; i < pairs.Length; i++)
        {
            var lp = choices[i]!["logprobs"]!;
            int ctxlen = encoded[i].Context.Length, total = ctxlen + encoded[i].Continuation.Length;
            var tokenLogprobs = lp["token_logprobs"]!.AsArray();
            var top = lp["top_logprobs"]!.AsArray();
            Assert.Equal(total + 1, tokenLogprobs.Count);
            Assert.Null(tokenLogprobs[0]);
            // parse_logprobs: sum(token_logprobs[ctxlen:-1]); greedy when each equals max(top_logprobs[i].values())
            double sum = tokenLogprobs.Skip(ctxlen).Take(total - ctxlen).Sum(x => x!.GetValue<double>());
            bool greedy = tokenLogprobs.Skip(ctxlen).Take(total - ctxlen).Zip(top.Skip(ctxlen))
                .All(x => x.First!.GetValue<double>() == x.Second!.AsObject().Max(kv => kv.Value!.GetValue<double>()));
            Assert.Equal(expected[i].LogProb, sum, 3);
            Assert.Equal(expected[i].IsGreedy, greedy);
            Assert.All(top.Skip(1), t => Assert.Single(t!.AsObject()));
            Assert.StartsWith(s.Tokenizer.Decode(encoded[i].Context.Concat(encoded[i].Continuation).ToList(), skipSpecialTokens: false), choices[i]!["text"]!.GetValue<string>());
        }
        Assert.Equal(encoded.Sum(e => e.Context.Length + e.Continuation.Length), body["usage"]!["prompt_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task CompletionsGenerateWhatTheGeneratorGenerates()
    {
        var want = Direct.Generate(["Q: what is 2 plus"], new GenerationOptions { MaxNewTokens = 20, StopStrings = ["fox"], Depth = Running.Depth })[0];
        var (status, body) = await Post("v1/completions", """{"prompt": "Q: what is 2 plus", "max_tokens": 20, "temperature": 0, "stop": ["fox"]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(want.Text, body["choices"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(want.Finish == FinishReason.Length ? "length" : "stop", body["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Equal(want.Tokens.Count, body["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task StreamingChatSendsTheSameTextAsAPlainChat()
    {
        const string request = """{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "what is 3 plus 4?"}], "max_tokens": 24, "temperature": 0}""";
        var (status, plain) = await Post("v1/chat/completions", request);
        Assert.Equal(HttpStatusCode.OK, status);
        var content = plain["choices"]![0]!["message"]!["content"]!.GetValue<string>();

        var format = ChatFormat.For(s.Tokenizer);
        var prompt = format.Encode(s.Tokenizer, [new("system", "Be brief."), new("user", "what is 3 plus 4?")]);
        var direct = Direct.Generate([prompt], new GenerationOptions { MaxNewTokens = 24, StopStrings = format.StopStrings, Depth = Running.Depth })[0];
        Assert.Equal(direct.Text, content);

        using var message = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(request.Replace("\"temperature\": 0", "\"temperature\": 0, \"stream\": true"), Encoding.UTF8, "application/json"),
        };
        using var response = await s.Http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var pieces = new StringBuilder();
        string? finish = null, role = null;
        bool done = false;
        for (int guard = 0; guard < 1000; guard++)
        {
            var line = await reader.ReadLineAsync();
            if (line is null) break;
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = line["data: ".Length..];
            if (data == "[DONE]") { done = true; break; }
            var choice = JsonNode.Parse(data)!["choices"]![0]!;
            role ??= choice["delta"]!["role"]?.GetValue<string>();
            pieces.Append(choice["delta"]!["content"]?.GetValue<string>());
            finish ??= choice["finish_reason"]?.GetValue<string>();
        }
        Assert.True(done, "the stream did not end with data: [DONE]");
        Assert.Equal("assistant", role);
        Assert.Equal(content, pieces.ToString());
        Assert.Equal(plain["choices"]![0]!["finish_reason"]!.GetValue<string>(), finish);
    }

    [Fact]
    public async Task TwentyConcurrentRequestsAreAllAnsweredCorrectly()
    {
        var prompts = Enumerable.Range(0, 20).Select(i => $"Q: what is {i} plus {i % 7}? A:").ToArray();
        var expected = prompts.Select(p => Direct.Generate([p], new GenerationOptions { MaxNewTokens = 8 + prompts.Length % 5, Depth = Running.Depth })[0].Text).ToArray();
        var tasks = prompts.Select((p, i) => Post("v1/completions", new JsonObject
        {
            ["prompt"] = p, ["max_tokens"] = 8 + prompts.Length % 5, ["temperature"] = 0,
        })).ToArray();
        var answers = await Task.WhenAll(tasks);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(HttpStatusCode.OK, answers[i].Status);
            Assert.Equal(expected[i], answers[i].Body["choices"]![0]!["text"]!.GetValue<string>());
        }
    }

    [Theory]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", ", "not valid JSON", null)]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 2, \"max_tokens\": 3}", "not valid JSON", null)]
    [InlineData("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"role\": \"system\", \"content\": \"x\"}]}", "not valid JSON", null)]
    [InlineData("v1/completions", "[1, 2, 3]", "must be a JSON object", null)]
    [InlineData("v1/completions", "{\"max_tokens\": 3}", "'prompt' is required", "prompt")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": \"many\"}", "'max_tokens' must be an integer", "max_tokens")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"temperature\": -1}", "temperature", "temperature")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"top_p\": 0}", "top-p", "top_p")]
    [InlineData("v1/completions", "{\"prompt\": {\"a\": 1}}", "'prompt' must be", "prompt")]
    [InlineData("v1/completions", "{\"prompt\": [1, 99999]}", "outside the model's vocabulary", null)]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"n\": 3}", "n > 1", "n")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"adaptive\": \"entropy:1\"}", "unknown criterion", "adaptive")]
    [InlineData("v1/chat/completions", "{\"messages\": []}", "'messages' must be", "messages")]
    [InlineData("v1/chat/completions", "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", "role 'robot'", "messages")]
    public async Task MalformedRequestsGet400WithAJsonError(string path, string body, string message, string? param)
    {
        var (status, json) = await Post(path, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, json["error"]!["message"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", json["error"]!["type"]!.GetValue<string>());
        Assert.Equal(param, json["error"]!["param"]?.GetValue<string>());
    }

    [Fact]
    public async Task APromptLongerThanTheContextIs400AndUnknownRoutesAre404()
    {
        var (status, json) = await Post("v1/completions", new JsonObject { ["prompt"] = string.Join(" ", Enumerable.Repeat("lazy dog", 200)) });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("the model's context is 128", json["error"]!["message"]!.GetValue<string>());
        var (streamStatus, streamJson) = await Post("v1/completions", new JsonObject { ["prompt"] = string.Join(" ", Enumerable.Repeat("lazy dog", 200)), ["stream"] = true });
        Assert.Equal(HttpStatusCode.BadRequest, streamStatus);   // a stream that fails before its first byte is an ordinary error
        Assert.Contains("the model's context is 128", streamJson["error"]!["message"]!.GetValue<string>());
        using var missing = await s.Http.GetAsync("v1/engines");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var wrongMethod = await s.Http.GetAsync("v1/completions");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
    }

    [Fact]
    public async Task AClientLeavingMidStreamDoesNotHurtTheServer()
    {
        long before = s.Server.Disconnects;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            // A raw socket, so that leaving really drops the connection (HttpClient would drain the rest of the stream).
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, s.Server.Port).WaitAsync(TimeSpan.FromSeconds(10));
            var request = """{"prompt": "the quick brown", "max_tokens": 120, "temperature": 0.7, "top_k": 5, "seed": 1, "stream": true}""";
            var head = $"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(request)}\r\n\r\n";
            await socket.SendAsync(Encoding.UTF8.GetBytes(head + request));
            var received = new StringBuilder();
            var buffer = new byte[256];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!received.ToString().Contains("data: ", StringComparison.Ordinal))
            {
                int n = await socket.ReceiveAsync(buffer, timeout.Token);
                Assert.True(n > 0, "the server closed the connection before streaming");
                received.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
            Assert.StartsWith("HTTP/1.1 200", received.ToString());
            socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);   // close with a reset, mid-stream
            socket.Close();
        }
        // The server notices when a write fails, counts the disconnect and stops that generation.
        for (int wait = 0; wait < 100 && s.Server.Disconnects == before; wait++) await Task.Delay(100);
        Assert.True(s.Server.Disconnects > before, "no disconnect was noticed");

        var want = Direct.Generate(["dog number 5"], new GenerationOptions { MaxNewTokens = 10, Depth = Running.Depth })[0].Text;
        var (status, body) = await Post("v1/completions", """{"prompt": "dog number 5", "max_tokens": 10, "temperature": 0}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(want, body["choices"]![0]!["text"]!.GetValue<string>());
    }
}
