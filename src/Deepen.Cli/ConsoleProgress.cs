using Spectre.Console;

namespace Deepen.Cli;

/// <summary>
/// Progress of long stages (conversion, training runs, evaluations, pretraining). On a terminal: a redrawn Spectre.Console
/// bar per stage with its percentage, elapsed and remaining time, and the log lines printed above the bars. When output
/// is redirected (a file, a pipe, CI): plain lines, one per tenth of each stage.
/// </summary>
public sealed class ConsoleProgress
{
    private readonly Dictionary<string, ProgressTask> _tasks = new();
    private readonly Dictionary<string, long> _printedTenth = new();
    private readonly ProgressContext? _context;

    private ConsoleProgress(ProgressContext? context) => _context = context;

    /// <summary>Whether bars are drawn: stdout is an interactive terminal.</summary>
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with a log writer and a progress reporter, drawing bars on a terminal.</summary>
    public static T Run<T>(Func<Action<string>, Action<string, long, long>, T> work)
    {
        if (!Interactive)
        {
            var plain = new ConsoleProgress(null);
            return work(Console.WriteLine, plain.Report);
        }
        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var bars = new ConsoleProgress(ctx);
                return work(line => AnsiConsole.WriteLine(line), bars.Report);
            });
    }

    /// <summary>Stage <paramref name="stage"/> has done <paramref name="done"/> of <paramref name="total"/> units.</summary>
    public void Report(string stage, long done, long total)
    {
        if (total <= 0) return;
        if (_context is null)
        {
            long tenth = done * 10 / total;
            if (_printedTenth.TryGetValue(stage, out var last) && last == tenth) return;
            _printedTenth[stage] = tenth;
            Console.WriteLine($"{stage}: {done}/{total} ({100.0 * done / total:F0} %)");
            return;
        }
        if (!_tasks.TryGetValue(stage, out var task))
            _tasks[stage] = task = _context.AddTask(Markup.Escape(stage), maxValue: total);
        task.MaxValue = total;
        task.Value = done;
        if (done >= total) task.StopTask();
    }
}
