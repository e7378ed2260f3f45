using Deepen.Cli;

return DeepenCli.Run(args);
