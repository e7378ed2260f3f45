using System.Diagnostics;
using System.CommandLine;
using Deepen;
using Deepen.Training;
using Deepen.Training.Distributed;

namespace Deepen.Cli.Commands;

/// <summary>
/// <c>deepen train --config FILE.yaml [--KEY VALUE ...] [--resume auto|PATH]</c>: every <see cref="TrainConfig"/>
/// key is also a flag (snake_case or kebab-case), and flags win over the file. Exit codes: 0 completed,
/// 1 user error, 3 stopped early (e.g. a NaN loss; the reason is printed), 130 interrupted by Ctrl-C after
/// saving a checkpoint.
/// <para>
/// Started by Open MPI's <c>mpirun -n N</c>, each process is one data-parallel rank (docs/distributed.md): rank 0
/// prints and writes the run directory; an error on any rank is printed with its rank and ends the whole job
/// (<c>MPI_Abort</c>), and so does a collective that waits longer than <c>--collective-timeout</c>.
/// </para>
/// </summary>
public static class TrainCommand
{
    /// <summary>Exit code of a run that stopped early for a reason of its own (NaN loss, ...).</summary>
    public const int ExitStopped = 3;

    /// <summary>Exit code of a run interrupted by Ctrl-C or SIGTERM that saved a checkpoint and returned.</summary>
    public const int ExitInterrupted = 130;

    /// <summary>The default of <c>--collective-timeout</c>, in seconds.</summary>
    public const int DefaultCollectiveTimeoutSeconds = 1800;

    public static Command Create(CliServices services)
    {
        var config = new Option<string?>("--config") { Description = "YAML config file (keys as the flags below, in snake_case); flags override its values.", HelpName = "FILE" };
        var resume = new Option<string?>("--resume") { Description = "auto (the latest complete checkpoint in the run directory) or a checkpoint directory. Without it, a run directory that already holds checkpoints is refused.", HelpName = "auto|PATH" };
        var killAfter = new Option<int?>("--kill-after-step") { Description = "Testing aid: SIGKILL this process right after step N's checkpoint is complete.", Hidden = true };
        var collectiveTimeout = new Option<int>("--collective-timeout")
        {
            Description = $"Under mpirun: end the job when one collective waits longer than this for the other ranks (a hung or lost rank). Must exceed the longest step rank 0 takes alone: validation, writing a checkpoint (default: {DefaultCollectiveTimeoutSeconds}).",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => DefaultCollectiveTimeoutSeconds,
        };
        var cmd = new Command("train", "Train a recurrent model (or a plain one, as the baseline): recurrence curriculum, Muon, checkpoints, resume, metrics. Data parallel when started by mpirun -n N.")
        {
            config, resume, killAfter, collectiveTimeout,
        };
        cmd.TreatUnmatchedTokensAsErrors = false;   // unknown flags get our own error with the nearest valid flag
        var keyOptions = TrainConfigKeys.All.Select(k => (Key: k, Option: KeyOption(k))).ToList();
        foreach (var (_, option) in keyOptions) cmd.Options.Add(option);

        cmd.HandleWithExitCode(parse =>
        {
            var flags = cmd.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Append("--verbose").Append("--help").ToList();
            if (parse.UnmatchedTokens.Count > 0)
            {
                var first = parse.UnmatchedTokens.FirstOrDefault(t => t.StartsWith('-')) ?? parse.UnmatchedTokens[0];
                throw first.StartsWith('-')
                    ? UnknownFlag(first, flags)
                    : new DeepenException($"unexpected argument '{first}'; every value belongs to a flag (--KEY VALUE), e.g. --config configs/tinyllama-484-math.yaml.");
            }

            var overrides = new Dictionary<string, string>();
            foreach (var (key, option) in keyOptions)
            {
                if (parse.GetResult(option) is not { } given) continue;
                var values = given.Tokens.Select(t => t.Value).ToList();
                // An unknown flag after a list flag is taken as one of its values: report it as the unknown flag it is.
                if (values.FirstOrDefault(v => v.StartsWith("--", StringComparison.Ordinal)) is { } stray) throw UnknownFlag(stray, flags);
                overrides[key.Name] = key.Kind == ConfigValueKind.Bool && values.Count == 0 ? "true" : string.Join(",", values);
            }

            var trainConfig = TrainConfigFile.Load(parse.GetValue(config), overrides).Validate();
            int timeout = parse.GetValue(collectiveTimeout);
            if (timeout <= 0) throw new DeepenException($"--collective-timeout {timeout}: expected a positive number of seconds.");
            using var ranks = DistributedLaunch.FromEnvironment(TimeSpan.FromSeconds(timeout));
            try
            {
                return Train(services, parse, ranks, trainConfig, parse.GetValue(resume), parse.GetValue(killAfter));
            }
            catch (Exception e) when (ranks.WorldSize > 1)
            {
                // The other ranks would wait for this one in their next collective: end the whole job.
                Console.Error.WriteLine($"error: rank {ranks.Rank} of {ranks.WorldSize}: " + (e is DeepenException ? e.Message : $"{e.GetType().Name}: {e.Message}"));
                if (parse.GetValue(CliRunner.Verbose) || e is not DeepenException) Console.Error.WriteLine(e);
                ranks.Abort(e is DeepenException ? 1 : 2);
                throw;   // not reached
            }
        });
        return cmd;
    }

    private static int Train(CliServices services, ParseResult parse, ICollective ranks, TrainConfig trainConfig, string? resume, int? killAfter)
    {
        bool rank0 = ranks.Rank == 0;
        Action<string> say = rank0 ? Console.Error.WriteLine : _ => { };
        using var interrupt = new GracefulInterrupt(say, rankOfMpiJob: DistributedLaunch.UnderMpirun ? ranks.Rank : null);
        var prefix = DistributedLaunch.UnderMpirun ? $"mpirun -n {ranks.WorldSize} " : "";
        // A redrawn bar on a terminal (rank 0); redirected output keeps the one line per step, which already carries the ETA.
        bool bar = rank0 && ConsoleProgress.Interactive;
        var result = ConsoleProgress.Run((log, progress) => services.RunTrainer(trainConfig, new TrainRunOptions
        {
            Resume = resume,
            AfterCheckpoint = killAfter is int kill ? step => { if (step == kill) Process.GetCurrentProcess().Kill(); } : null,   // SIGKILL: the crash the resume test needs
            Log = bar ? log : Console.WriteLine,
            Progress = bar ? (step, total) => progress("train", step, total) : null,
            Cancel = interrupt.Token,
            CommandLine = prefix + CliRunner.CommandLine(parse),
            Collective = ranks,
        }));

        if (!result.Stopped)
        {
            if (rank0) Console.WriteLine($"done: {result.StepsDone} steps; final model in {result.FinalDir}");
            return 0;
        }
        if (interrupt.Requested || result.Reason.StartsWith("interrupted", StringComparison.Ordinal))
        {
            say($"interrupted after step {result.StepsDone}: {result.Reason}. Continue with the same command and --resume auto.");
            return ExitInterrupted;
        }
        say($"stopped early after step {result.StepsDone}: {result.Reason}");
        return ExitStopped;
    }

    /// <summary>The flag of one config key: <c>--micro_batch_size</c> (and <c>--micro-batch-size</c>), its XML-doc summary and default as help.</summary>
    private static Option KeyOption(TrainConfigKey key)
    {
        string[] aliases = key.KebabFlag == key.Flag ? [] : [key.KebabFlag];
        var description = $"{key.Description} ({DefaultText(key)})";
        var helpName = HelpName(key);
        return key.Kind switch
        {
            ConfigValueKind.StringList or ConfigValueKind.IntList => new Option<string[]>(key.Flag, aliases)
            {
                Description = description + " Comma-separated, space-separated or repeated.",
                HelpName = helpName,
                AllowMultipleArgumentsPerToken = true,
            },
            ConfigValueKind.Bool => new Option<string>(key.Flag, aliases) { Description = description, HelpName = helpName, Arity = ArgumentArity.ZeroOrOne },
            _ => new Option<string>(key.Flag, aliases) { Description = description, HelpName = helpName },
        };
    }

    private static string DefaultText(TrainConfigKey key)
    {
        var text = TrainConfigFile.FormatValue(key.GetValue(new TrainConfig()));
        return text.Length > 0 ? $"default: {text}" : key.Name is "model" or "out" or "train_data" ? "required" : "default: none";
    }

    private static string HelpName(TrainConfigKey key) =>
        TrainConfigValidation.AllowedValues.TryGetValue(key.Name, out var words) ? string.Join('|', words) : key.Kind switch
        {
            ConfigValueKind.Int or ConfigValueKind.Long => "N",
            ConfigValueKind.Double => "X",
            ConfigValueKind.Bool => "true|false",
            ConfigValueKind.IntList => "N,...",
            ConfigValueKind.StringList => "PATH,...",
            _ => key.IsPath ? "PATH" : "TEXT",
        };

    private static DeepenException UnknownFlag(string token, IEnumerable<string> flags)
    {
        var flag = token.Split('=', 2)[0];
        var nearest = NameSuggestion.Nearest(flag, flags);
        return new DeepenException($"unknown flag '{flag}'" + (nearest is not null
            ? $"; did you mean '{nearest}'?"
            : "; 'deepen train --help' lists the flags (every config key is one)."));
    }
}
