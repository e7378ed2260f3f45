using System.CommandLine;
using System.Diagnostics;
using Deepen.Evaluation;
using Deepen.Inference;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen generate</c>: continue a prompt, streaming tokens to the terminal as they are made.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var flags = new InferenceFlags(defaultMaxNewTokens: 256, defaultTemperature: 0.0);
        var prompt = new Option<string?>("--prompt") { Description = "The prompt text." };
        var promptFile = new Option<string?>("--prompt-file") { Description = "Read the prompt from this file." };
        var showDepth = new Option<bool>("--show-depth") { Description = "Mark each token with the recurrences it used, as text[r]." };
        var cmd = new Command("generate", "Generate a continuation of a prompt, streamed as it is made.") { prompt, promptFile, showDepth };
        flags.AddTo(cmd);
        cmd.Handle(parse =>
        {
            var text = PromptText(parse.GetValue(prompt), parse.GetValue(promptFile));
            var (model, tokenizer) = flags.Load(parse);
            using var _m = model;
            using var _t = tokenizer;
            var options = flags.Generation(parse, model);
            var generator = new Generator(model, tokenizer);
            var ids = generator.EncodePrompt(text);
            bool marks = parse.GetValue(showDepth);

            var watch = Stopwatch.StartNew();
            int count = 0;
            var depths = new List<int>();
            FinishReason? finish = null;
            foreach (var token in generator.Stream([ids], options))
            {
                Console.Out.Write(token.Text);
                if (marks) Console.Out.Write($"[{token.Depth}]");
                Console.Out.Flush();
                count++;
                depths.Add(token.Depth);
                finish = token.Finish ?? finish;
            }
            Console.Out.WriteLine();
            double seconds = watch.Elapsed.TotalSeconds;
            var depthNote = depths.Count > 0   // a plain model's are all 1
                ? $"; recurrences per token: mean {depths.Average():F1}, min {depths.Min()}, max {depths.Max()}" : "";
            Console.Error.WriteLine(
                $"{count} tokens in {seconds:F2} s{DeviceFlag.On(parse, flags.Device, model.Device)} ({(seconds > 0 ? count / seconds : 0):F1} tokens/s, prompt {ids.Length} tokens); "
                + $"finished: {finish?.ToString().ToLowerInvariant() ?? "length"}{depthNote}");
        });
        return cmd;
    }

    private static string PromptText(string? prompt, string? file)
    {
        if ((prompt is null) == (file is null)) throw new DeepenException("give exactly one of --prompt or --prompt-file.");
        if (prompt is not null) return prompt;
        if (!File.Exists(file)) throw new DeepenException($"--prompt-file {file}: file not found.");
        return File.ReadAllText(file!);
    }
}
