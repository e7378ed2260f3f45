using System.CommandLine;
using Deepen.Cli.Commands;

namespace Deepen.Cli;

/// <summary>The verb tree of the <c>deepen</c> command.</summary>
public static class DeepenCli
{
    /// <summary>The verb tree; <paramref name="services"/> replaces what the verbs call (tests pass fakes).</summary>
    public static RootCommand Build(CliServices? services = null)
    {
        services ??= CliServices.Default;
        var root = new RootCommand("Deepen: retrofit pretrained Llama-family models with depth recurrence, train, evaluate and generate.");
        root.Options.Add(CliRunner.Verbose);
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(LogitsCommand.Create());
        root.Subcommands.Add(InitCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(FlopsCommand.Create());
        root.Subcommands.Add(TrainCommand.Create(services));
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(DataCommand.Create(services));
        root.Subcommands.Add(TokenizerCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        return root;
    }

    public static int Run(string[] args) => Build().Parse(args).Invoke();
}
