using System.Globalization;
using System.Text;
using Deepen.Evaluation.Reports;

namespace Deepen.Evaluation.Demo;

/// <summary>
/// report.md of the demo: what ran, the tables, the plots, and a verdict on each of the paper's claims
/// computed from the numbers (differences within two standard errors are called inconclusive).
/// </summary>
public static class DemoReport
{
    public static string Write(DemoOptions o, int p, int r, int c, double verifyDiff, DemoRun rec, DemoRun? noCurr, DemoRun stat,
        DemoEval recEval, DemoEval statEval, TimeSpan elapsed)
    {
        var recs = recEval.ByRecurrence.Keys.ToList();
        var (statAcc, statSe) = statEval.ByRecurrence[1];

        // Plots.
        var accSeries = new List<LineSeries>
        {
            new($"recurrent ({p},{r},{c})", recs.Select(x => (double)x).ToList(), recs.Select(x => recEval.ByRecurrence[x].Acc * 100).ToList(), recs.Select(x => recEval.ByRecurrence[x].Stderr * 100).ToList()),
            new("static baseline (equal training FLOPs)", recs.Select(x => (double)x).ToList(), recs.Select(_ => statAcc * 100).ToList()),
        };
        AtomicFile.WriteAllBytes(Path.Combine(o.Out, "accuracy-vs-recurrence.png"),
            LinePlot.Render("Held-out accuracy vs test recurrence", "test recurrence r", "accuracy (%)", accSeries, new PlotStyle(Log2X: true, YMin: 0)));
        var runs = new[] { rec, noCurr, stat }.Where(x => x is not null).Select(x => x!).ToList();
        AtomicFile.WriteAllBytes(Path.Combine(o.Out, "loss-vs-flops.png"),
            LinePlot.Render("Training loss vs cumulative training FLOPs", "training FLOPs", "training loss (nats/token)",
                runs.Select(x => new LineSeries(x.Label, Smooth(x.Train).Select(t => t.Flops).ToList(), Smooth(x.Train).Select(t => t.Loss).ToList())).ToList()));
        AtomicFile.WriteAllBytes(Path.Combine(o.Out, "val-loss-vs-flops.png"),
            LinePlot.Render("Held-out loss vs cumulative training FLOPs", "training FLOPs", "held-out loss (nats/token)",
                runs.Select(x => new LineSeries(x.Label, x.Val.Select(t => t.Flops).ToList(), x.Val.Select(t => t.Loss).ToList())).ToList()));

        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine($"# Deepen demo{(o.Quick ? " (--quick)" : "")}: retrofitted recurrence on the embedded base model");
        sb.AppendLine();
        sb.AppendLine($"Base model `{o.BaseModel}` converted to a ({p},{r},{c}) recurrent model (conversion check max |Δlogit| = {verifyDiff.ToString("E2", inv)}), trained on");
        sb.AppendLine($"{o.TrainProblems:N0} synthetic word problems with {string.Join(", ", o.Ops)} operations answered directly (`#### N`, no written steps: only");
        sb.AppendLine($"depth of computation can help), evaluated on {recEval.Problems} held-out problems (a disjoint split). Recurrent run: {o.Steps} steps × {o.MicroBatch}×{o.SeqLen} tokens,");
        sb.AppendLine($"1-sqrt curriculum to r̄ = {o.TrainRecurrence}, backprop depth {o.BackpropDepth}, Muon, bf16-mixed. The static baseline (the base model at its own depth)");
        sb.AppendLine($"trained on the same data, optimizer and schedule for as many steps as the same training FLOPs allow (method.md §5.3). Total time {elapsed.TotalMinutes:F1} min on {o.Threads} threads.");
        sb.AppendLine();
        sb.AppendLine("```");
        sb.AppendLine($"deepen demo{(o.Quick ? " --quick" : "")} --out {o.Out}");
        sb.AppendLine("```");
        sb.AppendLine();
        sb.AppendLine("## Training");
        sb.AppendLine();
        sb.AppendLine("| run | steps | training FLOPs | final held-out loss | time |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var x in runs)
            sb.AppendLine($"| {x.Label} | {x.Train.Count} | {x.TotalFlops.ToString("E3", inv)} | {(x.Val.Count > 0 ? x.Val[^1].Loss.ToString("F3", inv) : "-")} | {x.Seconds:F0} s |");
        sb.AppendLine();
        sb.AppendLine("![training loss vs FLOPs](loss-vs-flops.png)");
        sb.AppendLine();
        sb.AppendLine("![held-out loss vs FLOPs](val-loss-vs-flops.png)");
        sb.AppendLine();
        sb.AppendLine("## Accuracy (exact match of the `#### N` answer)");
        sb.AppendLine();
        sb.AppendLine("| model | test r | accuracy | ± stderr | " + string.Join(" | ", o.Ops.Select(k => $"{k} op{(k > 1 ? "s" : "")}")) + " |");
        sb.AppendLine("|---|---|---|---|" + string.Concat(o.Ops.Select(_ => "---|")));
        foreach (var x in recs)
            sb.AppendLine($"| recurrent | {x} | {recEval.ByRecurrence[x].Acc:P1} | {recEval.ByRecurrence[x].Stderr:P1} | " + string.Join(" | ", o.Ops.Select(k => recEval.ByOps[x].TryGetValue(k, out var v) ? v.ToString("P0", inv) : "-")) + " |");
        sb.AppendLine($"| static | – | {statAcc:P1} | {statSe:P1} | " + string.Join(" | ", o.Ops.Select(k => statEval.ByOps[1].TryGetValue(k, out var v) ? v.ToString("P0", inv) : "-")) + " |");
        sb.AppendLine();
        sb.AppendLine("![accuracy vs recurrence](accuracy-vs-recurrence.png)");
        sb.AppendLine();
        sb.AppendLine("## The paper's claims at this scale");
        sb.AppendLine();
        sb.AppendLine("Verdicts are computed from the numbers above; a difference within two standard errors is reported as inconclusive. Nothing here was tuned toward the claims.");
        sb.AppendLine();
        sb.AppendLine("1. **Accuracy grows with test recurrence up to about the training recurrence.** " + ClaimRecurrence(recEval, o.TrainRecurrence));
        sb.AppendLine("2. **At equal training FLOPs the recurrent model beats the non-recurrent baseline.** " + ClaimBaseline(recEval, o.TrainRecurrence, statAcc, statSe));
        sb.AppendLine("3. **The recurrence curriculum reaches the same loss with fewer FLOPs than training without it.** " + ClaimCurriculum(rec, noCurr));
        sb.AppendLine();
        sb.AppendLine("Files: `runs/*/metrics.jsonl` (every step and validation), `runs/*/final/` (models), `data/` (problems and shards).");
        var path = Path.Combine(o.Out, "report.md");
        AtomicFile.WriteAllText(path, sb.ToString());
        return path;
    }

    private static IReadOnlyList<(double Flops, double Loss)> Smooth(IReadOnlyList<(double Flops, double Loss)> pts, int window = 5) =>
        pts.Select((t, i) => (t.Flops, pts.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Average(x => x.Loss))).ToList();

    private static string Verdict(double diff, double se) => Math.Abs(diff) <= 2 * se ? "inconclusive" : diff > 0 ? "held" : "did not hold";

    private static string ClaimRecurrence(DemoEval e, int train)
    {
        var (a1, s1) = e.ByRecurrence[1];
        var at = e.ByRecurrence.Keys.Where(k => k <= train).Max();
        var (aT, sT) = e.ByRecurrence[at];
        var best = e.ByRecurrence.MaxBy(kv => kv.Value.Acc);
        string verdict = Verdict(aT - a1, Math.Sqrt(s1 * s1 + sT * sT));
        return $"**{Capitalise(verdict)}**: r = 1 gives {a1:P1}, r = {at} gives {aT:P1} (difference {(aT - a1) * 100:+0.0;-0.0} points, ±{2 * Math.Sqrt(s1 * s1 + sT * sT) * 100:F1} at 2 SE); the best test recurrence is r = {best.Key} ({best.Value.Acc:P1}).";
    }

    private static string ClaimBaseline(DemoEval e, int train, double statAcc, double statSe)
    {
        var at = e.ByRecurrence.Keys.Where(k => k <= train).Max();
        var (a, s) = e.ByRecurrence[at];
        string verdict = Verdict(a - statAcc, Math.Sqrt(s * s + statSe * statSe));
        return $"**{Capitalise(verdict)}**: recurrent at r = {at} {a:P1} vs static {statAcc:P1} (difference {(a - statAcc) * 100:+0.0;-0.0} points, ±{2 * Math.Sqrt(s * s + statSe * statSe) * 100:F1} at 2 SE).";
    }

    private static string ClaimCurriculum(DemoRun curriculum, DemoRun? none)
    {
        if (none is null) return "Not tested in `--quick` (run the full demo).";
        if (curriculum.Val.Count == 0 || none.Val.Count < 2) return "Not enough validation points to compare.";
        var (f, loss) = curriculum.Val[^1];
        double noneAtF = Interpolate(none.Val, f);
        double flopsNeeded = FlopsToReach(none.Val, loss);
        string verdict = noneAtF > loss ? "held" : "did not hold";
        string reach = double.IsNaN(flopsNeeded)
            ? "the run without the curriculum never reached that loss"
            : $"the run without the curriculum needed {flopsNeeded:E2} FLOPs to reach it ({flopsNeeded / f:F2}× the curriculum's)";
        return $"**{Capitalise(verdict)}**: with the curriculum the held-out loss is {loss:F3} after {f:E2} FLOPs; without it, {noneAtF:F3} at the same FLOPs; {reach}.";
    }

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

    private static string Capitalise(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
