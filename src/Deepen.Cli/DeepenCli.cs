using System.CommandLine;
using Deepen.Cli.Commands;

namespace Deepen.Cli;

/// <summary>The verb tree of the <c>deepen</c> command.</summary>
public static class DeepenCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Deepen: retrofit pretrained Llama-family models with depth recurrence, train, evaluate and generate.");
        root.Options.Add(CliRunner.Verbose);
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(LogitsCommand.Create());
        root.Subcommands.Add(InitCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(FlopsCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(DataCommand.Create());
        root.Subcommands.Add(TokenizerCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        return root;
    }

    public static int Run(string[] args) => Build().Parse(args).Invoke();
}
