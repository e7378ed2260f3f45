using System.CommandLine;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen data</c>: the data verbs, one subcommand each (<c>synth-math</c>, ...).</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var cmd = new Command("data", "Generate and prepare training and evaluation data.");
        cmd.Subcommands.Add(DataSynthMathCommand.Create());
        return cmd;
    }
}
