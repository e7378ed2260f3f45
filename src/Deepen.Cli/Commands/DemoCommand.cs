using System.CommandLine;
using Deepen;
using Deepen.Conversion;
using Deepen.Modeling;
using Deepen.Recipes;
using Deepen.Training;

namespace Deepen.Cli.Commands;

/// <summary>
/// <c>deepen demo [--quick] [--task chains|hops] [--seed S] [--out DIR]</c>: the whole method on the shipped base model, offline
/// (convert, curriculum training, equal-FLOPs static baseline, evaluation, report with plots and a heat map).
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "A small run (under 3 minutes on 2 cores) that writes every artefact." };
        var output = new Option<string?>("--out") { Description = "Output directory (default runs/demo or runs/demo-quick; with --task hops, runs/demo-hops; with --seed S ≠ 0, runs/demo-seedS)." };
        var task = new Option<string>("--task") { Description = "chains (operations modulo 10; base models/tiny-base-chains) or hops (variable look-ups; base models/tiny-base-lookup).", DefaultValueFactory = _ => DemoTask.Chains.Name };
        var baseModel = new Option<string?>("--base") { Description = "Base model to retrofit (default: the task's shipped base of this repository)." };
        var seed = new Option<long>("--seed") { Description = "Seed of every random choice: training and test problems, adapter init, data order, recurrence noise.", DefaultValueFactory = _ => 0 };
        var adapter = new Option<string>("--adapter-init") { Description = "identity ([0 | I]: the state is ignored at first, so training starts from the base's own function) add ([I | I]: state plus prelude output, additive input injection) or default (the paper's random init).", DefaultValueFactory = _ => "identity" };
        var lossOn = new Option<string>("--loss-on") { Description = "answer (the answer tokens only) or all (every token).", DefaultValueFactory = _ => "answer" };
        var split = new Option<string>("--split") { Description = "test (the demo's figures) or validation (to choose settings without looking at the test problems).", DefaultValueFactory = _ => "test" };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps of the recurrent runs (default: the task's; the static baseline gets as many as equal FLOPs allow)." };
        var shape = new Option<string?>("--shape") { Description = "Recurrent shape P,R,C by the paper's rule: the first P layers, the R before the last C, the last C; the layers between are dropped (default: L/4, L/2, L/4 of the base's L layers, none dropped)." };
        var device = DeviceFlag.Create();
        var threads = new Option<int>("--threads") { Description = "Torch threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        adapter.AcceptOnlyFromAmong("default", "identity", "add");
        split.AcceptOnlyFromAmong("test", "validation");
        lossOn.AcceptOnlyFromAmong([.. ConfigWords.All(typeof(LossTokens))]);
        task.AcceptOnlyFromAmong([.. DemoTask.All.Select(t => t.Name)]);
        var cmd = new Command("demo", "Run the retrofitted-recurrence method end to end on the embedded base model and write a report.")
            { quick, output, task, baseModel, seed, adapter, lossOn, split, steps, shape, device, threads };
        cmd.Handle(parse =>
        {
            bool q = parse.GetValue(quick);
            long s = parse.GetValue(seed);
            var demoTask = DemoTask.Parse(parse.GetValue(task)!);
            var evalSplit = Enum.Parse<Deepen.Data.ChainSplit>(parse.GetValue(split)!, ignoreCase: true);
            var model = parse.GetValue(baseModel) ?? FindBaseModel(demoTask);
            using var interrupt = new GracefulInterrupt(Console.Error.WriteLine);
            var name = (q ? "runs/demo-quick" : "runs/demo") + (demoTask != DemoTask.Chains ? $"-{demoTask.Name}" : "") + (s != 0 ? $"-seed{s}" : "") + (evalSplit == Deepen.Data.ChainSplit.Validation ? "-validation" : "");
            var outDir = Path.GetFullPath(parse.GetValue(output) ?? name);
            var options = q ? DemoOptions.QuickRun(model, outDir, demoTask) : DemoOptions.Full(model, outDir, demoTask);
            var report = ConsoleProgress.Run((log, progress) => DemoRecipe.Run(options with
            {
                Seed = s,
                AdapterInit = Enum.Parse<AdapterInit>(parse.GetValue(adapter)!, ignoreCase: true),
                LossOn = ConfigWords.Parse<LossTokens>("loss_on", parse.GetValue(lossOn)!),
                Threads = parse.GetValue(threads),
                Device = parse.GetValue(device) ?? "",
                EvalSplit = evalSplit,
                Steps = parse.GetValue(steps) ?? options.Steps,
                Shape = parse.GetValue(shape) is { } text ? ParseShape(text, model) : options.Shape,
                Log = log,
                Progress = progress,
                Cancel = interrupt.Token,
            }));
            Console.WriteLine($"report: {report}");
        });
        return cmd;
    }

    /// <summary>"P,R,C" checked against the base's layer count (the same rule and errors as <c>deepen convert --shape</c>).</summary>
    private static (int, int, int) ParseShape(string text, string baseModel)
    {
        var plan = LayerPlan.ParseShape(text, HfConfig.Load(baseModel).NumLayers);
        return (plan.Prelude.Count, plan.Core.Count, plan.Coda.Count);
    }

    /// <summary>The task's base (e.g. models/tiny-base-chains) under the current directory, or above the CLI's own location (a clone's build output).</summary>
    private static string FindBaseModel(DemoTask task)
    {
        var rel = task.DefaultBase;
        if (Directory.Exists(rel)) return Path.GetFullPath(rel);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, rel))) return Path.Combine(dir.FullName, rel);
        throw new DeepenException($"{rel} not found from {Directory.GetCurrentDirectory()}; run from the repository root, pass --base DIR, or make it with `deepen pretrain --config {task.BaseRecipe}`.");
    }
}
