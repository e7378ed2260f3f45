using System.CommandLine;
using Deepen;

namespace Deepen.Cli;

/// <summary>Runs a verb's action: user errors print one line and exit 1; stack traces only with --verbose.</summary>
public static class CliRunner
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Print stack traces and extra detail.",
        Recursive = true,
    };

    /// <summary>Sets the verb's action, wrapped so user errors become one line and exit code 1.</summary>
    public static void Handle(this Command command, Action<ParseResult> action) =>
        command.SetAction((Func<ParseResult, int>)(parse => Run(parse, () => action(parse))));

    private static int Run(ParseResult parse, Action action)
    {
        bool verbose = parse.GetValue(Verbose);
        try
        {
            action();
            return 0;
        }
        catch (DeepenException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            if (verbose) Console.Error.WriteLine(e);
            return 1;
        }
        catch (Exception e) when (!verbose)
        {
            Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message} (run with --verbose for details)");
            return 2;
        }
    }
}
