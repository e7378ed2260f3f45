using Deepen.Checkpoints;
using Deepen.Conversion;
using Deepen.Data;
using System.Globalization;
using System.Text;
using Deepen.Evaluation.Reports;
using Deepen.Evaluation.Stats;
using Deepen.Training;
using Deepen.Evaluation;

namespace Deepen.Recipes;

/// <summary>
/// report.md of the demo: what ran, the tables, the plots, the heat map of accuracy by difficulty and test recurrence,
/// and a verdict on each of the paper's claims computed from the numbers: paired (McNemar) tests on the same held-out
/// problems for claims 1 and 2, the loss curves at equal FLOPs for claim 3.
/// </summary>
public static class DemoReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A relative difference in held-out loss below this is reported as inconclusive for claim 3 (the loss has no error bar here).</summary>
    public const double LossTolerance = 0.01;

    public static string Write(DemoOptions o, LayerPlan plan, int baseLayers, double verifyDiff, DemoRun rec, DemoRun? noCurr, DemoRun stat,
        DemoEval recEval, DemoEval statEval, TimeSpan elapsed, double peakRssMb)
    {
        int p = plan.Prelude.Count, r = plan.Core.Count, c = plan.Coda.Count;
        var recs = recEval.Correct.Keys.ToList();
        int at = TrainedRecurrence(recs, o.TrainRecurrence);
        var (statAcc, statSe) = statEval.At(1);
        var ops = recEval.Ops.Distinct().Order().ToList();

        // Plots.
        var accSeries = new List<LineSeries>
        {
            new($"recurrent ({p},{r},{c})", recs.Select(x => (double)x).ToList(), recs.Select(x => recEval.At(x).Acc * 100).ToList(), recs.Select(x => recEval.At(x).Stderr * 100).ToList()),
            new("static baseline (equal training FLOPs)", recs.Select(x => (double)x).ToList(), recs.Select(_ => statAcc * 100).ToList(), Dashed: true),
        };
        foreach (var group in DifficultyGroups(ops, o.TrainOps, o.Task.Unit))
            accSeries.Add(new LineSeries($"recurrent, {group.Label}", recs.Select(x => (double)x).ToList(),
                recs.Select(x => recEval.At(x, group.Ops) * 100).ToList()));
        AtomicFile.WriteAllBytes(Path.Combine(o.Out, "accuracy-vs-recurrence.png"),
            LinePlot.Render("Held-out accuracy vs test recurrence (± 1 SE)", "test recurrence r", "accuracy (%)", accSeries, new PlotStyle(Log2X: true, YMin: 0, YMax: 100)));
        var runs = new[] { rec, noCurr, stat }.Where(x => x is not null).Select(x => x!).ToList();
        AtomicFile.WriteAllBytes(Path.Combine(o.Out, "loss-vs-flops.png"),
            LinePlot.Render("Training loss vs cumulative training FLOPs", "training FLOPs", "training loss (nats/token)",
                runs.Select(x => new LineSeries(x.Label, Smooth(x.Train).Select(t => t.Flops).ToList(), Smooth(x.Train).Select(t => t.Loss).ToList())).ToList()));
        AtomicFile.WriteAllBytes(Path.Combine(o.Out, "val-loss-vs-flops.png"),
            LinePlot.Render("Held-out loss vs cumulative training FLOPs", "training FLOPs", "held-out loss (nats/token)",
                runs.Select(x => new LineSeries(x.Label, x.Val.Select(t => t.Flops).ToList(), x.Val.Select(t => t.Loss).ToList())).ToList()));
        var columns = new List<string> { "static" };
        columns.AddRange(recs.Select(x => $"r={x}"));
        var grid = new double[ops.Count, columns.Count];
        for (int i = 0; i < ops.Count; i++)
        {
            grid[i, 0] = statEval.At(1, ops[i]) * 100;
            for (int j = 0; j < recs.Count; j++) grid[i, j + 1] = recEval.At(recs[j], ops[i]) * 100;
        }
        AtomicFile.WriteAllBytes(Path.Combine(o.Out, "accuracy-heatmap.png"),
            HeatMap.Render("Held-out accuracy (%) by chain length and test recurrence",
                "model and test recurrence", $"{o.Task.Unit} in the chain", columns, ops.Select(k => o.TrainOps.Contains(k) ? $"{k}" : $"{k} (longer)").ToList(), grid));

        var claim1 = PairedComparison.Of(recEval.Correct[recs[0]], recEval.Correct[at]);
        var beyond = PairedComparison.Of(recEval.Correct[at], recEval.Correct[recs[^1]]);
        var claim2 = PairedComparison.Of(statEval.Correct[1], recEval.Correct[at]);

        var sb = new StringBuilder();
        sb.AppendLine($"# Deepen demo{(o.Quick ? " (--quick)" : "")}: retrofitted recurrence on the embedded base model (seed {o.Seed})");
        sb.AppendLine();
        sb.AppendLine($"Base model `{Show(o.BaseModel)}` converted to a ({p},{r},{c}) recurrent model (conversion check max |Δlogit| = {verifyDiff.ToString("E2", Inv)}, adapter init {o.AdapterInit.ToString().ToLowerInvariant()}{Dropped(plan, baseLayers)}),");
        sb.AppendLine($"trained on {o.TrainProblems:N0} {o.Task.Description} of {o.TrainOps.Min()}–{o.TrainOps.Max()} {o.Task.Unit}, answered directly with one digit, so only");
        sb.AppendLine($"depth of computation can help; chance is {o.Task.Chance * 100:F0} %. Evaluated on {recEval.Problems:N0} held-out problems of {ops.Min()}–{ops.Max()} {o.Task.Unit} (a disjoint split; longer chains than any trained).");
        if (o.EvalSplit != ChainSplit.Test)
            sb.AppendLine($"**These problems are the {o.EvalSplit.ToString().ToLowerInvariant()} split** (`--split {o.EvalSplit.ToString().ToLowerInvariant()}`), for choosing settings; the demo's figures are on the test split.");
        sb.AppendLine($"Recurrent run: {o.Steps} steps × {o.MicroBatch}×{o.SeqLen} tokens, 1-sqrt curriculum to r̄ = {o.TrainRecurrence}, backprop depth {o.BackpropDepth}, Muon, bf16-mixed,");
        sb.AppendLine($"loss on {(o.LossOn == LossTokens.Answer ? "the answer tokens only (`loss_on: answer`)" : "all tokens")}. The static baseline (the base at its own depth) trained on the same data, optimizer and schedule");
        sb.AppendLine($"for as many steps as the same training FLOPs allow (method.md §5.3). Everything here was trained and evaluated live by this command;");
        sb.AppendLine($"total {elapsed.TotalMinutes:F1} min on {o.Threads} thread{(o.Threads == 1 ? "" : "s")}, peak RSS {peakRssMb:F0} MB.");
        sb.AppendLine();
        sb.AppendLine("```");
        sb.AppendLine($"deepen demo{(o.Quick ? " --quick" : "")} --task {o.Task.Name} --seed {o.Seed}{(o.AdapterInit != Conversion.AdapterInit.Identity ? $" --adapter-init {o.AdapterInit.ToString().ToLowerInvariant()}" : "")}{(o.LossOn == LossTokens.All ? " --loss-on all" : "")}{(o.Shape is { } sh ? $" --shape {sh.P},{sh.R},{sh.C}" : "")} --out {Show(o.Out)}");
        sb.AppendLine("```");
        sb.AppendLine();
        sb.AppendLine("## Training");
        sb.AppendLine();
        sb.AppendLine("| run | steps | training FLOPs | final held-out loss | time |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var x in runs)
            sb.AppendLine($"| {x.Label} | {x.Train.Count} | {x.TotalFlops.ToString("E3", Inv)} | {(x.Val.Count > 0 ? x.Val[^1].Loss.ToString("F3", Inv) : "-")} | {x.Seconds:F0} s |");
        sb.AppendLine();
        sb.AppendLine("![training loss vs FLOPs](loss-vs-flops.png)");
        sb.AppendLine();
        sb.AppendLine("![held-out loss vs FLOPs](val-loss-vs-flops.png)");
        sb.AppendLine();
        sb.AppendLine("## Accuracy (exact match of the answer digit; greedy)");
        sb.AppendLine();
        sb.AppendLine("| model | test r | accuracy | ± stderr | vs r = 1 (paired) |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var x in recs)
        {
            var (a, s) = recEval.At(x);
            var d = PairedComparison.Of(recEval.Correct[recs[0]], recEval.Correct[x]);
            sb.AppendLine($"| recurrent | {x} | {a:P1} | {s:P1} | {(x == recs[0] ? "–" : Diff(d))} |");
        }
        sb.AppendLine($"| static | – | {statAcc:P1} | {statSe:P1} | |");
        sb.AppendLine();
        sb.AppendLine("![accuracy vs recurrence](accuracy-vs-recurrence.png)");
        sb.AppendLine();
        sb.AppendLine("### By chain length (harder problems need more depth)");
        sb.AppendLine();
        sb.AppendLine($"Accuracy (%) by number of {o.Task.Unit}; rows marked *longer* are longer than any training chain. The last column is the paired gain of r = {at} over r = {recs[0]}.");
        sb.AppendLine();
        sb.AppendLine($"| {o.Task.Unit} | problems | static | " + string.Join(" | ", recs.Select(x => $"r = {x}")) + $" | r = {at} − r = {recs[0]} |");
        sb.AppendLine("|---|---|---|" + string.Concat(recs.Select(_ => "---|")) + "---|");
        foreach (var k in ops)
        {
            var idx = Enumerable.Range(0, recEval.Problems).Where(i => recEval.Ops[i] == k).ToList();
            var gain = PairedComparison.Of(idx.Select(i => recEval.Correct[recs[0]][i]).ToList(), idx.Select(i => recEval.Correct[at][i]).ToList());
            sb.AppendLine($"| {k}{(o.TrainOps.Contains(k) ? "" : " (longer)")} | {idx.Count} | {Pct(statEval.At(1, k))} | " + string.Join(" | ", recs.Select(x => Pct(recEval.At(x, k)))) + $" | {Diff(gain)} |");
        }
        sb.AppendLine();
        sb.AppendLine("![accuracy by chain length and recurrence](accuracy-heatmap.png)");
        sb.AppendLine();
        sb.AppendLine("## The paper's claims at this scale");
        sb.AppendLine();
        sb.AppendLine($"Verdicts are computed from the numbers above. Claims 1 and 2 compare two conditions on the same {recEval.Problems:N0} problems with McNemar's test:");
        sb.AppendLine("of b problems only the second gets right and c only the first, the difference is (b − c)/N with standard error √(b + c)/N;");
        sb.AppendLine("**held** beyond +2 SE, **refuted** beyond −2 SE, **inconclusive** between. Nothing here was tuned on the test problems.");
        sb.AppendLine();
        sb.AppendLine("1. **Accuracy grows with test recurrence up to about the training recurrence.** " + ClaimRecurrence(claim1, beyond, recs[0], at, recs[^1]));
        sb.AppendLine("2. **At equal training FLOPs the recurrent model beats the non-recurrent baseline.** " + ClaimBaseline(claim2, at));
        sb.AppendLine("3. **The recurrence curriculum reaches the same loss with fewer FLOPs than training without it.** " + ClaimCurriculum(rec, noCurr));
        sb.AppendLine();
        sb.AppendLine("Files: `runs/*/metrics.jsonl` (every step and validation), `runs/*/final/` (models), `data/` (problems and shards), `samples-*.jsonl` (every problem at every recurrence).");
        var path = Path.Combine(o.Out, "report.md");
        AtomicFile.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>A path relative to the current directory when it lies below it (reports stay readable on another machine).</summary>
    private static string Show(string path)
    {
        var rel = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? path : rel;
    }

    /// <summary>The largest tested recurrence not above the training mean (the claims' "training recurrence").</summary>
    public static int TrainedRecurrence(IReadOnlyList<int> tested, int train) =>
        tested.Where(k => k <= train).DefaultIfEmpty(tested.Min()).Max();

    private static IEnumerable<(string Label, IReadOnlyList<int> Ops)> DifficultyGroups(IReadOnlyList<int> ops, IReadOnlyList<int> trained, string unit)
    {
        var inside = ops.Where(trained.Contains).ToList();
        var longer = ops.Where(k => !trained.Contains(k)).ToList();
        if (inside.Count >= 2)
        {
            int half = inside.Count / 2;
            yield return ($"{inside[0]}–{inside[half - 1]} {unit}", inside.Take(half).ToList());
            yield return ($"{inside[half]}–{inside[^1]} {unit}", inside.Skip(half).ToList());
        }
        else if (inside.Count == 1) yield return ($"{inside[0]} {unit}", inside);
        if (longer.Count > 0) yield return ($"{longer[0]}–{longer[^1]} {unit} (longer than trained)", longer);
    }

    private static string Pct(double v) => double.IsNaN(v) ? "-" : (v * 100).ToString("F0", Inv);

    private static string Diff(PairedComparison d) =>
        $"{d.Difference * 100:+0.0;-0.0;0.0} ± {d.StandardError * 100:F1} ({d.Verdict.ToString().ToLowerInvariant()})";

    /// <summary>", layers 2–3 of the base's 8 dropped by the paper's rule" when the plan leaves base layers out, else "".</summary>
    public static string Dropped(LayerPlan plan, int baseLayers)
    {
        var dropped = plan.Dropped(baseLayers).ToList();
        if (dropped.Count == 0) return "";
        var which = dropped.Count == dropped[^1] - dropped[0] + 1
            ? (dropped.Count == 1 ? $"layer {dropped[0]}" : $"layers {dropped[0]}–{dropped[^1]}")
            : $"layers {string.Join(", ", dropped)}";
        return $"; {which} of the base's {baseLayers} dropped by the paper's rule";
    }

    /// <summary>Claim 1: r = first vs the training recurrence, and whether it stays beyond.</summary>
    public static string ClaimRecurrence(PairedComparison gain, PairedComparison beyond, int first, int at, int last)
    {
        string stays = last == at ? "" : beyond.Verdict switch
        {
            Verdict.Refuted => $" Beyond it, accuracy falls: r = {last} vs r = {at} {Diff(beyond)}.",
            _ => $" Beyond it, accuracy stays: r = {last} vs r = {at} {Diff(beyond)}.",
        };
        return $"**{Name(gain.Verdict)}**: r = {first} gives {gain.AccuracyA:P1}, r = {at} gives {gain.AccuracyB:P1}; paired difference {Diff(gain)}, z = {gain.Z.ToString("F2", Inv)} " +
            $"({gain.OnlyB} problems right only at r = {at}, {gain.OnlyA} only at r = {first}).{stays}";
    }

    /// <summary>Claim 2: the static baseline vs the recurrent model at the training recurrence.</summary>
    public static string ClaimBaseline(PairedComparison d, int at) =>
        $"**{Name(d.Verdict)}**: recurrent at r = {at} {d.AccuracyB:P1} vs static {d.AccuracyA:P1}; paired difference {Diff(d)}, z = {d.Z.ToString("F2", Inv)}.";

    /// <summary>Claim 3: the curriculum run's final held-out loss against the no-curriculum run's at the same FLOPs.</summary>
    public static string ClaimCurriculum(DemoRun curriculum, DemoRun? none)
    {
        if (none is null) return "Not tested in `--quick` (run the full demo).";
        if (curriculum.Val.Count == 0 || none.Val.Count < 2) return "Not enough validation points to compare.";
        var (f, loss) = curriculum.Val[^1];
        double noneAtF = Interpolate(none.Val, f);
        var verdict = CurriculumVerdict(loss, noneAtF);
        double flopsNeeded = FlopsToReach(none.Val, loss);
        string reach = double.IsNaN(flopsNeeded)
            ? "the run without the curriculum never reached that loss"
            : $"the run without the curriculum needed {flopsNeeded:E2} FLOPs to reach it ({flopsNeeded / f:F2}× the curriculum's)";
        return $"**{Name(verdict)}**: with the curriculum the held-out loss is {loss:F3} after {f:E2} FLOPs; without it, {noneAtF:F3} at the same FLOPs; {reach}. " +
            $"(The loss has no error bar here: a relative difference under {LossTolerance:P0} is called inconclusive.)";
    }

    /// <summary>Claim 3's verdict from the two losses at equal FLOPs.</summary>
    public static Verdict CurriculumVerdict(double withCurriculum, double without)
    {
        double rel = (without - withCurriculum) / Math.Max(1e-12, Math.Abs(without));
        return rel > LossTolerance ? Verdict.Held : rel < -LossTolerance ? Verdict.Refuted : Verdict.Inconclusive;
    }

    private static string Name(Verdict v) => v switch { Verdict.Held => "Held", Verdict.Refuted => "Refuted", _ => "Inconclusive" };

    private static IReadOnlyList<(double Flops, double Loss)> Smooth(IReadOnlyList<(double Flops, double Loss)> pts, int window = 5) =>
        pts.Select((t, i) => (t.Flops, pts.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Average(x => x.Loss))).ToList();

    private static double Interpolate(IReadOnlyList<(double Flops, double Loss)> curve, double f)
    {
        for (int i = 1; i < curve.Count; i++)
            if (curve[i].Flops >= f)
            {
                var (f0, l0) = curve[i - 1];
                var (f1, l1) = curve[i];
                return f1 == f0 ? l1 : l0 + (l1 - l0) * (f - f0) / (f1 - f0);
            }
        return curve[^1].Loss;
    }

    private static double FlopsToReach(IReadOnlyList<(double Flops, double Loss)> curve, double loss)
    {
        for (int i = 1; i < curve.Count; i++)
            if (curve[i].Loss <= loss)
            {
                var (f0, l0) = curve[i - 1];
                var (f1, l1) = curve[i];
                return l0 == l1 ? f1 : f0 + (f1 - f0) * (l0 - loss) / (l0 - l1);
            }
        return double.NaN;
    }
}
