using System.CommandLine;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen data</c>: the parent of the data verbs (<c>prepare</c>, ...).</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var cmd = new Command("data", "Prepare training data: tokenize and pack text into token shards.");
        cmd.Subcommands.Add(DataPrepareCommand.Create());
        return cmd;
    }
}
