using System.CommandLine;
using Deepen;
using Deepen.Evaluation.Demo;

namespace Deepen.Cli.Commands;

/// <summary>
/// <c>deepen demo [--quick] [--out DIR]</c>: the whole method on the shipped base model, offline
/// (convert, curriculum training, equal-FLOPs static baseline, evaluation, report with plots).
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "A small run (under 3 minutes on 2 cores) that writes every artefact." };
        var output = new Option<string?>("--out") { Description = "Output directory (default runs/demo or runs/demo-quick)." };
        var baseModel = new Option<string?>("--base") { Description = "Base model to retrofit (default: models/tiny-base of this repository)." };
        var threads = new Option<int>("--threads") { Description = "Torch threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var cmd = new Command("demo", "Run the retrofitted-recurrence method end to end on the embedded base model and write a report.") { quick, output, baseModel, threads };
        cmd.Handle(parse =>
        {
            bool q = parse.GetValue(quick);
            var model = parse.GetValue(baseModel) ?? FindBaseModel();
            using var interrupt = new GracefulInterrupt(Console.Error.WriteLine);
            var outDir = Path.GetFullPath(parse.GetValue(output) ?? (q ? "runs/demo-quick" : "runs/demo"));
            var options = q ? DemoOptions.QuickRun(model, outDir) : DemoOptions.Full(model, outDir);
            var report = DemoRecipe.Run(options with { Threads = parse.GetValue(threads), Cancel = interrupt.Token });
            Console.WriteLine($"report: {report}");
        });
        return cmd;
    }

    /// <summary>models/tiny-base under the current directory, or above the CLI's own location (a clone's build output).</summary>
    private static string FindBaseModel()
    {
        const string rel = "models/tiny-base";
        if (Directory.Exists(rel)) return Path.GetFullPath(rel);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, rel))) return Path.Combine(dir.FullName, rel);
        throw new DeepenException($"{rel} not found from {Directory.GetCurrentDirectory()}; run from the repository root or pass --base DIR.");
    }
}
