using System.CommandLine;
using Deepen.Inference;
using Deepen.Tokenization;

namespace Deepen.Cli.Commands;

/// <summary>
/// <c>deepen chat</c>: an interactive loop over standard input with the model's chat format. Lines starting with
/// <c>/</c> are commands: <c>/reset</c> clears the conversation, <c>/exit</c> (or end of input) quits.
/// </summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var flags = new InferenceFlags(defaultMaxNewTokens: 512, defaultTemperature: 0.7);
        var template = new Option<string?>("--chat-template") { Description = "Override the chat format: llama3, zephyr or plain (default: recognised from tokenizer_config.json)." };
        var system = new Option<string?>("--system") { Description = "A system message that starts the conversation." };
        var cmd = new Command("chat", "Chat with a model interactively (reads standard input; /reset, /exit).") { template, system };
        flags.AddTo(cmd);
        cmd.Handle(parse =>
        {
            var templateName = parse.GetValue(template);
            if (templateName is not null) ChatFormat.Named(templateName);   // an unknown name fails before the model loads
            var (model, tokenizer) = flags.Load(parse);
            using var _m = model;
            using var _t = tokenizer;
            var baseOptions = flags.Generation(parse, model);
            var format = ChatFormat.For(tokenizer, templateName);
            if (format.Notice is not null) Console.Error.WriteLine($"note: {format.Notice}");
            var options = baseOptions with
            {
                StopStrings = [.. baseOptions.StopStrings, .. format.StopStrings],
                StopTokenIds = format.StopTokenIds(tokenizer),
            };
            var generator = new Generator(model, tokenizer);
            var history = new List<ChatMessage>();
            if (parse.GetValue(system) is { } sys) history.Add(new ChatMessage("system", sys));
            int keep = history.Count;
            Console.Error.WriteLine($"chatting with {model.Name}{DeviceFlag.On(parse, flags.Device, model.Device)} ({format} format); /reset clears, /exit quits.");
            while (true)
            {
                Console.Out.Write("> ");
                Console.Out.Flush();
                var line = Console.In.ReadLine();
                if (line is null || line.Trim() is "/exit" or "/quit") break;
                if (line.Trim() == "/reset") { history.RemoveRange(keep, history.Count - keep); Console.Error.WriteLine("(conversation cleared)"); continue; }
                if (line.Trim().Length == 0) continue;
                history.Add(new ChatMessage("user", line));
                var prompt = FitToContext(format, tokenizer, history, keep, model.ContextLength - Math.Min(options.MaxNewTokens, model.ContextLength / 2));
                if (prompt is null)
                {
                    history.RemoveAt(history.Count - 1);
                    Console.Error.WriteLine($"error: that message alone does not fit the model's context of {model.ContextLength} tokens.");
                    continue;
                }
                var reply = new System.Text.StringBuilder();
                foreach (var token in generator.Stream([prompt], options))
                {
                    Console.Out.Write(token.Text);
                    Console.Out.Flush();
                    reply.Append(token.Text);
                }
                Console.Out.WriteLine();
                history.Add(new ChatMessage("assistant", reply.ToString().Trim()));
            }
        });
        return cmd;
    }

    /// <summary>The prompt ids, dropping the oldest turns after the first <paramref name="keep"/> messages until it fits; null if it cannot.</summary>
    private static int[]? FitToContext(ChatFormat format, Deepen.Tokenization.TextTokenizer tokenizer, List<ChatMessage> history, int keep, int budget)
    {
        while (true)
        {
            var ids = format.Encode(tokenizer, history);
            if (ids.Length <= budget) return ids;
            if (history.Count - keep <= 1) return null;
            history.RemoveAt(keep);   // the oldest turn
        }
    }
}
