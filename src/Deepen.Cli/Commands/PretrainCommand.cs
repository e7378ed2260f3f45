using System.CommandLine;
using Deepen.Recipes;

namespace Deepen.Cli.Commands;

/// <summary>
/// <c>deepen pretrain --config configs/tiny-base.yaml</c>: tokenizer, data, a random Llama and its
/// pretraining in one reproducible command; the result is shipped with a model card. Rerunning it
/// reuses the finished stages and resumes training from the newest checkpoint.
/// </summary>
public static class PretrainCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Pretraining recipe: training keys plus a 'pretrain:' section.", Required = true };
        var output = new Option<string?>("--out") { Description = "Run directory (overrides the recipe's out)." };
        var maxSteps = new Option<int?>("--max-steps") { Description = "Override max_steps (e.g. a short trial)." };
        var shipTo = new Option<string?>("--ship-to") { Description = "Where the finished model goes (overrides pretrain.ship_to)." };
        var device = DeviceFlag.Create();
        var cmd = new Command("pretrain", "Pretrain a small Llama from scratch (tokenizer, data mix, model, training, model card).") { config, output, maxSteps, shipTo, device };
        cmd.HandleWithExitCode(parse =>
        {
            var overrides = new Dictionary<string, string>();
            if (parse.GetValue(output) is { } o) overrides["out"] = o;
            if (parse.GetValue(maxSteps) is { } m) overrides["max_steps"] = m.ToString();
            if (parse.GetValue(device) is { } d) overrides["device"] = d;
            var options = PretrainConfigFile.Load(parse.GetValue(config)!, overrides);
            if (parse.GetValue(shipTo) is { } s) options = options with { ShipTo = Path.GetFullPath(s) };
            using var interrupt = new GracefulInterrupt(Console.Error.WriteLine);
            var result = ConsoleProgress.Run((log, progress) => PretrainRecipe.Run(options with
            {
                Log = log,
                Progress = (step, total) => progress("pretrain", step, total),
                Cancel = interrupt.Token,
                CommandLine = "deepen " + string.Join(' ', parse.Tokens.Select(t => t.Value)),
            }));
            if (result.Stopped)
            {
                Console.Error.WriteLine($"stopped after step {result.StepsDone}: {result.Reason}");
                return interrupt.Requested ? TrainCommand.ExitInterrupted : TrainCommand.ExitStopped;
            }
            Console.WriteLine($"done: {result.StepsDone} steps; model shipped to {result.FinalDir}");
            return 0;
        });
        return cmd;
    }
}
