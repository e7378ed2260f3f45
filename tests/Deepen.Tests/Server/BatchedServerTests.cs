using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deepen.Inference;
using Deepen.Server;
using Deepen.Tests.Inference;
using Deepen.Tokenization;
using Deepen.Models;

namespace Deepen.Tests.Server;

/// <summary>
/// Continuous batching through HTTP: sixteen clients at once, with different prompts, token budgets, stop
/// strings, recurrences, seeds and sampling, get from the batching server exactly the answers a server that
/// decodes one request at a time (<c>MaxBatch = 1</c>) gives them in turn (the same text, tokens, finish reasons
/// and usage; log-probs to float rounding, since a batched matmul may round differently), and the batching
/// server really did decode several rows per step.
/// </summary>
public sealed class BatchedServerTests
{
    private static string Body(int i)
    {
        var fields = new List<string>
        {
            $"\"prompt\": \"the quick brown fox number {i}\"",
            $"\"max_tokens\": {4 + 3 * (i % 7)}",
            $"\"recurrence\": {1 + i % 5}",
            i % 4 == 3 ? "\"temperature\": 0.8, \"top_k\": 20" : "\"temperature\": 0",
            $"\"seed\": {40 + i}",
        };
        if (i % 5 == 2) fields.Add("\"stop\": [\" dog\"]");
        if (i % 8 == 5) fields.Add("\"echo\": true, \"logprobs\": 1");
        else if (i % 6 == 1) fields.Add("\"logprobs\": 2");
        return "{" + string.Join(", ", fields) + "}";
    }

    private static async Task<JsonNode> Post(HttpClient http, string body)
    {
        using var response = await http.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    /// <summary>Everything but the id, the time and the log-prob values: text, finish reason, usage, and the tokens and alternatives listed.</summary>
    private static string Exact(JsonNode answer)
    {
        var choice = answer["choices"]![0]!;
        var lp = choice["logprobs"];
        return $"{choice["text"]}|{choice["finish_reason"]}|{answer["usage"]!.ToJsonString()}|{lp?["tokens"]?.ToJsonString()}|{lp?["text_offset"]?.ToJsonString()}|"
            + string.Join(";", lp?["top_logprobs"]?.AsArray().Select(t => t is null ? "null" : string.Join(",", t.AsObject().Select(kv => kv.Key))) ?? []);
    }

    private static double[] LogProbs(JsonNode answer) =>
        answer["choices"]![0]!["logprobs"]?["token_logprobs"]?.AsArray().Select(v => v?.GetValue<double>() ?? double.NaN).ToArray() ?? [];

    private static async Task<(JsonNode[] Answers, (long Steps, long Rows) Decoded)> Serve(TinyTextModel files, int maxBatch, bool together)
    {
        using var model = DeepenModel.Load(files.Dir);
        using var tokenizer = TextTokenizer.FromDirectory(files.Dir);
        await using var server = new OpenAiServer(model, tokenizer, new ServerOptions { Port = 0, MaxBatch = maxBatch, Depth = DepthOptions.Fixed(3) });
        server.Start();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseAddress), Timeout = TimeSpan.FromSeconds(120) };
        JsonNode[] answers;
        if (together) answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Post(http, Body(i))));
        else
        {
            answers = new JsonNode[16];
            for (int i = 0; i < 16; i++) answers[i] = await Post(http, Body(i));
        }
        return (answers, server.Metrics.Decoded);
    }

    [Fact]
    public async Task SixteenConcurrentClientsGetTheOneAtATimeAnswers()
    {
        using var files = new TinyTextModel(context: 128);
        var (alone, aloneDecoded) = await Serve(files, maxBatch: 1, together: false);
        var (batched, decoded) = await Serve(files, maxBatch: 16, together: true);
        Assert.Equal(aloneDecoded.Steps, aloneDecoded.Rows);                                    // one row per step
        double mean = decoded.Rows / (double)decoded.Steps;
        Assert.True(mean > 3, $"{decoded.Rows} rows over {decoded.Steps} decode steps: mean batch {mean:F2}, so hardly any batching happened");
        for (int i = 0; i < 16; i++)
        {
            Assert.True(Exact(alone[i]) == Exact(batched[i]), $"request {i} ({Body(i)}):\n one at a time {alone[i].ToJsonString()}\n batched       {batched[i].ToJsonString()}");
            var (a, b) = (LogProbs(alone[i]), LogProbs(batched[i]));
            Assert.Equal(a.Length, b.Length);
            for (int j = 0; j < a.Length; j++)
                Assert.True(double.IsNaN(a[j]) ? double.IsNaN(b[j]) : Math.Abs(a[j] - b[j]) < 1e-4, $"request {i} token {j}: log-prob {a[j]} one at a time, {b[j]} batched");
        }
    }
}
