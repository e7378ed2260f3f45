using System.CommandLine;
using System.Text.RegularExpressions;
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
        command.HandleWithExitCode(parse => { action(parse); return 0; });

    /// <summary>
    /// Sets the verb's action, which returns its own exit code (e.g. 3 for a run that stopped early); user
    /// errors still become one line and exit code 1.
    /// </summary>
    public static void HandleWithExitCode(this Command command, Func<ParseResult, int> action) =>
        command.SetAction((Func<ParseResult, int>)(parse => RunWithExitCode(parse, () => action(parse))));

    /// <summary><paramref name="value"/>, or a user error naming <paramref name="flag"/> when it is below 1.</summary>
    public static int Positive(int value, string flag) =>
        value >= 1 ? value : throw new DeepenException($"{flag} {value}: expected a positive integer.");

    /// <summary>The command as typed, for records: <c>deepen</c> and every token, shell-quoted where needed.</summary>
    public static string CommandLine(ParseResult parse) => "deepen " + string.Join(' ', parse.Tokens.Select(t => Quote(t.Value)));

    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>
    /// The library's message with the settings it names spelled as this command's flags: the leading key of a
    /// <see cref="DeepenException.BadSetting"/> and every <c>`key`</c> in its advice become <c>--key-name</c> where the
    /// command has that flag (settings a command takes some other way, e.g. from a YAML file, keep their key).
    /// </summary>
    public static string InFlags(Command command, DeepenException e)
    {
        var flags = command.Options.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        static string Flag(string key) => "--" + key.Replace('_', '-');
        var message = e.Message;
        if (e.Setting is { } key && flags.Contains(Flag(key)) && message.StartsWith(key, StringComparison.Ordinal))
            message = Flag(key) + message[key.Length..];
        return Regex.Replace(message, "`([a-z][a-z0-9_]*)`", m => flags.Contains(Flag(m.Groups[1].Value)) ? Flag(m.Groups[1].Value) : m.Value);
    }

    private static int RunWithExitCode(ParseResult parse, Func<int> action)
    {
        bool verbose = parse.GetValue(Verbose);
        try
        {
            return action();
        }
        catch (DeepenException e)
        {
            Console.Error.WriteLine($"error: {InFlags(parse.CommandResult.Command, e)}");
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
