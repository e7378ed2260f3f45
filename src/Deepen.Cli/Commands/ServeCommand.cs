using System.CommandLine;
using Deepen.Inference;
using Deepen.Server;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen serve</c>: an OpenAI-compatible HTTP server (runs until Ctrl+C).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var flags = new InferenceFlags(defaultMaxNewTokens: 16, defaultTemperature: 1.0);
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 8000 };
        var host = new Option<string>("--host") { Description = "Address to bind; loopback by default. 0.0.0.0 exposes the server to the network.", DefaultValueFactory = _ => "127.0.0.1" };
        var template = new Option<string?>("--chat-template") { Description = "Override the chat format: llama3, zephyr or plain." };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait at once; more get HTTP 503.", DefaultValueFactory = _ => 256 };
        var maxBatch = new Option<int>("--max-batch") { Description = "Rows decoded together at most (continuous batching; 1 = one request at a time).", DefaultValueFactory = _ => 16 };
        var prefillBudget = new Option<int>("--prefill-tokens") { Description = "Prompt tokens admitted into the running batch between two decode steps.", DefaultValueFactory = _ => 512 };
        var prefixCache = new Option<int>("--prefix-cache-tokens") { Description = "Prompt tokens whose keys and values are kept for later prompts that start the same way (automatic prefix caching; 0 turns it off).", DefaultValueFactory = _ => 4096 };
        var threads = new Option<int>("--threads") { Description = "Torch threads for the model (default: one fewer than the cores, at least 1, leaving a core for HTTP; bench serve-load measured 1 thread serving 16 clients 1.3× faster than 2 on 2 cores).", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount - 1) };
        var logRequests = new Option<bool>("--log-requests") { Description = "Log one line per request: id, route, status, prompt tokens, new tokens, recurrences per token, milliseconds." };
        var cmd = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (/v1/models, /v1/completions, /v1/chat/completions) with Prometheus metrics at /metrics.")
            { port, host, template, queue, maxBatch, prefillBudget, prefixCache, threads, logRequests };
        flags.AddTo(cmd, withGeneration: false);
        cmd.Handle(parse =>
        {
            var templateName = parse.GetValue(template);
            var chat = templateName is null ? null : ChatFormat.Named(templateName);
            if (parse.GetValue(port) is < 0 or > 65535) throw new DeepenException($"--port {parse.GetValue(port)}: expected 0..65535.");
            CliRunner.Positive(parse.GetValue(queue), "--queue");
            CliRunner.Positive(parse.GetValue(maxBatch), "--max-batch");
            TorchSharp.torch.set_num_threads(CliRunner.Positive(parse.GetValue(threads), "--threads"));
            CliRunner.Positive(parse.GetValue(prefillBudget), "--prefill-tokens");
            if (parse.GetValue(prefixCache) < 0) throw new DeepenException($"--prefix-cache-tokens {parse.GetValue(prefixCache)}: expected 0 (off) or a positive number of tokens.");
            var (model, tokenizer) = flags.Load(parse);
            using var _m = model;
            using var _t = tokenizer;
            var options = new ServerOptions
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                Depth = flags.Depth(parse, model),
                Cache = flags.Cache(parse),
                Chat = chat,
                QueueCapacity = parse.GetValue(queue),
                MaxBatch = parse.GetValue(maxBatch),
                PrefillTokensPerStep = parse.GetValue(prefillBudget),
                PrefixCacheTokens = parse.GetValue(prefixCache),
                TruncatePrompts = parse.GetValue(flags.Truncate),
                LogRequests = parse.GetValue(logRequests),
            };
            if (options.Host is not ("127.0.0.1" or "localhost" or "::1"))
                Console.Error.WriteLine($"warning: binding {options.Host} makes the server reachable from other machines; it has no authentication.");
            var server = new OpenAiServer(model, tokenizer, options, line => Console.Error.WriteLine(line));
            server.Start();
            Console.Error.WriteLine($"model {model.Name}{DeviceFlag.On(parse, flags.Device, model.Device)}");
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
            AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
            server.RunUntilCancelledAsync(stop.Token).GetAwaiter().GetResult();
            Console.Error.WriteLine("stopping...");
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });
        return cmd;
    }
}
