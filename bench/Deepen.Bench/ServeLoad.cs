using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Deepen.Inference;
using Deepen.Server;
using Deepen.Tokenization;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Bench;

/// <summary>
/// Serving throughput of <c>deepen serve</c> (in process, over HTTP on loopback): C concurrent clients, each sending
/// greedy completions of 6–32 new tokens (drawn with a fixed seed) back to back, against the continuous-batching
/// server (<c>--max-batch 16</c>) and the one-at-a-time server (<c>--max-batch 1</c>). Prints served tokens/s,
/// requests/s, p50/p99 latency and the mean decode batch. With <c>--repeats N</c> every configuration runs N times in
/// turn (1 client, 4, 16, then again) and the row is the run with the median tokens/s: on a shared machine one run's
/// throughput can move by a third. The prompts share their first words ("Once upon a time, client C asked question
/// i"), so the server's prefix cache serves most of their tokens; <c>--prompts distinct</c> starts each with its own
/// number instead, and <c>--prefix-cache-tokens 0</c> turns the cache off. The last column is the share of prompt
/// tokens the prefix cache supplied.
/// </summary>
public static class ServeLoad
{
    public static int Run(string[] args)
    {
        string dir = Measure.Arg(args, "--model", "models/tiny-base");
        int threads = int.Parse(Measure.Arg(args, "--threads", Math.Max(1, Environment.ProcessorCount - 1).ToString()));   // as deepen serve
        int perClient = int.Parse(Measure.Arg(args, "--requests", "12"));
        var clientCounts = Measure.Arg(args, "--clients", "1,4,16").Split(',').Select(int.Parse).ToArray();
        var batches = Measure.Arg(args, "--max-batch", "1,16").Split(',').Select(int.Parse).ToArray();
        string? recurrence = Measure.Arg(args, "--recurrence", "");
        int repeats = int.Parse(Measure.Arg(args, "--repeats", "1"));
        long prefixCache = long.Parse(Measure.Arg(args, "--prefix-cache-tokens", new ServerOptions().PrefixCacheTokens.ToString()));
        bool distinct = Measure.Arg(args, "--prompts", "shared") switch
        {
            "shared" => false,
            "distinct" => true,
            var other => throw new ArgumentException($"--prompts {other}: expected shared or distinct."),
        };
        var load = new Load(recurrence, prefixCache, distinct);
        set_num_threads(threads);
        using var model = DeepenModel.Load(dir);
        using var tokenizer = TextTokenizer.FromDirectory(dir);
        Console.WriteLine($"model: {dir} ({model.Kind}), {threads} threads, {perClient} requests per client, greedy, 6–32 new tokens each{(recurrence is "" ? "" : $", recurrence {recurrence}")}" +
                          $", {(distinct ? "distinct" : "shared")} prompts, prefix cache {(prefixCache > 0 ? $"{prefixCache} tokens" : "off")}" +
                          (repeats > 1 ? $", median of {repeats} runs" : ""));
        Console.WriteLine();
        Console.WriteLine("| max batch | clients | requests | new tokens | wall s | tokens/s | requests/s | p50 ms | p99 ms | mean decode batch | prompt tokens from prefix cache |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        // Warm-up: JIT tiering and libtorch's first allocations would otherwise slow whichever configuration runs first.
        Measure1(model, tokenizer, batches.Max(), 4, 6, load);
        var configs = batches.SelectMany(b => clientCounts.Select(c => (MaxBatch: b, Clients: c))).ToList();
        var runs = configs.Select(_ => new List<Result>()).ToList();
        for (int repeat = 0; repeat < repeats; repeat++)
            for (int i = 0; i < configs.Count; i++)
                runs[i].Add(Measure1(model, tokenizer, configs[i].MaxBatch, configs[i].Clients, perClient, load));
        var median = runs.Select(all => all.OrderBy(x => x.TokensPerSecond).ElementAt(all.Count / 2)).ToList();
        for (int i = 0; i < configs.Count; i++)
        {
            var ((maxBatch, clients), r) = (configs[i], median[i]);
            Console.WriteLine($"| {maxBatch} | {clients} | {r.Requests} | {r.Tokens} | {r.Wall:F2} | {r.TokensPerSecond:F0} | {r.Requests / r.Wall:F1} | {r.P50:F0} | {r.P99:F0} | {r.MeanBatch:F2} | {r.Reused / (double)Math.Max(1, r.PromptTokens):P0} |");
        }
        Console.WriteLine();
        foreach (int maxBatch in batches)
        {
            var mine = Enumerable.Range(0, configs.Count).Where(i => configs[i].MaxBatch == maxBatch).ToList();
            if (mine.FirstOrDefault(i => configs[i].Clients == 1, -1) is not (>= 0 and var one)) continue;
            var ratios = mine.Where(i => i != one).Select(i => $"{configs[i].Clients} clients {median[i].TokensPerSecond / median[one].TokensPerSecond:F2}×");
            Console.WriteLine($"max batch {maxBatch}: 1 client {median[one].TokensPerSecond:F0} tokens/s; {string.Join(", ", ratios)}");
            if (repeats > 1)
                Console.WriteLine("  every run (tokens/s): " + string.Join("; ", mine.Select(i => $"{configs[i].Clients} clients {string.Join(" / ", runs[i].Select(x => x.TokensPerSecond.ToString("F0")))}")));
        }
        return 0;
    }

    private sealed record Load(string Recurrence, long PrefixCacheTokens, bool Distinct);

    private sealed record Result(int Requests, long Tokens, double Wall, double TokensPerSecond, double P50, double P99, double MeanBatch, long PromptTokens, long Reused);

    private static Result Measure1(DeepenModel model, TextTokenizer tokenizer, int maxBatch, int clients, int perClient, Load load)
    {
        string recurrence = load.Recurrence;
        var server = new OpenAiServer(model, tokenizer, new ServerOptions { Port = 0, MaxBatch = maxBatch, QueueCapacity = 1024, PrefixCacheTokens = load.PrefixCacheTokens });
        server.Start();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(server.BaseAddress), Timeout = TimeSpan.FromMinutes(10) };
            string Prompt(int client, int i) => load.Distinct
                ? $"{(client + 2) * 7919 + i * 104729} was the number. Once upon a time, client {client} asked question {i}"
                : $"Once upon a time, client {client} asked question {i}";
            string Body(int client, int i, int tokens) =>
                $$"""{"prompt": "{{Prompt(client, i)}}", "max_tokens": {{tokens}}, "temperature": 0, "stop": []{{(recurrence is "" ? "" : $", \"recurrence\": {recurrence}")}}}""";
            long promptTokens = 0;
            async Task<int> Post(string body, List<double> latencies)
            {
                var watch = Stopwatch.StartNew();
                using var response = await http.PostAsync("v1/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
                var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException(json.ToJsonString());
                lock (latencies) latencies.Add(watch.Elapsed.TotalMilliseconds);
                Interlocked.Add(ref promptTokens, json["usage"]!["prompt_tokens"]!.GetValue<int>());
                return json["usage"]!["completion_tokens"]!.GetValue<int>();
            }
            for (int i = 0; i < 4; i++) Post(Body(-1, i, 8), []).GetAwaiter().GetResult();   // warm-up
            var (steps0, rows0) = server.Metrics.Decoded;
            long reused0 = server.Metrics.PrefixTokensReused;
            Interlocked.Exchange(ref promptTokens, 0);
            var latencies = new List<double>();
            var clock = Stopwatch.StartNew();
            var tasks = Enumerable.Range(0, clients).Select(async c =>
            {
                var rng = new Random(1000 + c);
                long tokens = 0;
                for (int i = 0; i < perClient; i++) tokens += await Post(Body(c, i, rng.Next(6, 33)), latencies);
                return tokens;
            }).ToArray();
            long total = Task.WhenAll(tasks).GetAwaiter().GetResult().Sum();
            double wall = clock.Elapsed.TotalSeconds;
            var (steps, rows) = server.Metrics.Decoded;
            latencies.Sort();
            double Pct(double p) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];
            return new Result(latencies.Count, total, wall, total / wall, Pct(0.5), Pct(0.99), (rows - rows0) / (double)Math.Max(1, steps - steps0),
                Interlocked.Read(ref promptTokens), server.Metrics.PrefixTokensReused - reused0);
        }
        finally { server.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }
}
