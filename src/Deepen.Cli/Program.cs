using System.CommandLine;
using Deepen.Cli;
using Deepen.Cli.Commands;

var root = new RootCommand("Deepen: retrofit pretrained Llama-family models with depth recurrence, train, evaluate and generate.");
root.Options.Add(CliRunner.Verbose);
root.Subcommands.Add(LogitsCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(DataCommand.Create());
return root.Parse(args).Invoke();
