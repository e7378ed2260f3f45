using System.CommandLine;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen data</c>: the data verbs, one subcommand each (<c>prepare</c>, <c>synth-math</c>).</summary>
public static class DataCommand
{
    public static Command Create(CliServices? services = null)
    {
        var cmd = new Command("data", "Generate and prepare data: tokenize and pack text into token shards, synthesize math problems.");
        cmd.Subcommands.Add(DataPrepareCommand.Create(services ?? CliServices.Default));
        cmd.Subcommands.Add(DataSynthMathCommand.Create());
        cmd.Subcommands.Add(DataSynthChainCommand.Create());
        cmd.Subcommands.Add(DataSynthHopsCommand.Create());
        return cmd;
    }
}
