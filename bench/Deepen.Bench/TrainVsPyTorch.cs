using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Deepen.Bench;

/// <summary>One worker run: the medians of its measured (non-warm-up) steps and its peak RSS.</summary>
public sealed record StepRun(string Shape, string Impl, string Precision, int Rep, double Ms, double FwdMs, double BwdMs, double OptMs,
                             double CpuMs, double PeakRssMiB, double FirstLoss);

/// <summary>A matmul-peak run of one implementation, GFLOP/s.</summary>
public sealed record PeakRun(string Impl, double Fp32, double Bf16);

/// <summary>Everything <see cref="TrainVsPyTorch"/> measured.</summary>
public sealed record TrainResults(IReadOnlyList<BenchShape> Shapes, IReadOnlyList<StepRun> Runs, IReadOnlyList<PeakRun> Peaks, int PeakSize, string Blas)
{
    public const string Deepen = "Deepen", PyTorch = "PyTorch";

    /// <summary>The machine's matmul peak (GFLOP/s): the best either implementation reached, per dtype.</summary>
    public (double Fp32, double Bf16) MachinePeak => (Peaks.Max(p => p.Fp32), Peaks.Max(p => p.Bf16));

    public IEnumerable<StepRun> Of(BenchShape s, string impl, string precision) =>
        Runs.Where(r => r.Shape == s.Name && r.Impl == impl && r.Precision == precision);

    /// <summary>Median ms/step of a configuration over its runs (NaN if none).</summary>
    public double MedianMs(BenchShape s, string impl, string precision) => Stats.Median(Of(s, impl, precision).Select(r => r.Ms));

    public double TokensPerSecond(BenchShape s, string impl, string precision) => s.TokensPerStep / (MedianMs(s, impl, precision) / 1000);

    /// <summary>The faster precision of an implementation and its tokens/s.</summary>
    public (string Precision, double TokensPerSecond) Best(BenchShape s, string impl) =>
        new[] { "fp32", "bf16" }.Select(p => (p, TokensPerSecond(s, impl, p))).Where(x => double.IsFinite(x.Item2)).MaxBy(x => x.Item2);
}

/// <summary>
/// <c>train-vs-pytorch</c>: the recurrent model's training step in Deepen (float32 and bf16-mixed) against the same
/// model and step in PyTorch 1.13 (<c>bench/peer/train_step.py</c>, float32 and bf16 autocast), each configuration in
/// its own process, interleaved (Deepen fp32, PyTorch fp32, Deepen bf16, PyTorch bf16, repeated), with each run's
/// steps after warm-up reduced to their median and the runs to their median. Also this machine's float32 and bfloat16
/// matmul peak (2048² products, both implementations, once per repetition), so achieved FLOP/s can be put against it.
/// </summary>
public static class TrainVsPyTorch
{
    public const string OpenBlasOpenMp = "/usr/lib/x86_64-linux-gnu/openblas-openmp";

    public static int Run(string[] args)
    {
        if (args.Contains("--worker")) return TrainStepWorker.Run(args);
        if (args.Contains("--peak-worker")) return MatmulPeak.Run(args);
        var results = Collect(args, Console.WriteLine);
        var report = Format(results);
        Console.WriteLine();
        Console.WriteLine(report);
        var path = Measure.Arg(args, "--report", "");
        if (path.Length > 0) File.WriteAllText(path, report);
        return 0;
    }

    public static TrainResults Collect(string[] args, Action<string> log)
    {
        string A(string name, string fallback) => Measure.Arg(args, name, fallback);
        int repeats = int.Parse(A("--repeats", "5")), steps = int.Parse(A("--steps", "5")), warmup = int.Parse(A("--warmup", "2"));
        int threads = int.Parse(A("--threads", "2")), seq = int.Parse(A("--seq", "256")), peakSize = int.Parse(A("--peak-size", "2048"));
        var shapes = A("--sizes", "tiny,mid,mid-accum").Split(',').Select(name => name switch
        {
            "tiny" => BenchShape.Tiny(int.Parse(A("--tiny-batch", "1"))) with { Seq = seq },
            "mid" => BenchShape.Mid(int.Parse(A("--mid-batch", "1"))) with { Seq = seq },
            "mid-accum" => BenchShape.Mid(int.Parse(A("--mid-batch", "1"))) with { Name = "mid-accum", Seq = seq, Accum = int.Parse(A("--mid-accum", "16")) },
            _ => throw new ArgumentException($"--sizes: unknown size '{name}' (tiny, mid, mid-accum)"),
        }).ToList();
        string python = A("--python", "/usr/bin/python3");
        string peer = A("--peer", Path.Combine(ChildProcess.RepoRoot(), "bench", "peer", "train_step.py"));
        var threadArgs = new[] { "--threads", threads.ToString(CultureInfo.InvariantCulture) };
        var peerEnv = new Dictionary<string, string>
        {
            ["LD_LIBRARY_PATH"] = OpenBlasOpenMp + (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") is { Length: > 0 } l ? ":" + l : ""),
            ["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture),
        };
        var deepenEnv = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = peerEnv["OMP_NUM_THREADS"] };
        var runs = new List<StepRun>();
        var peaks = new List<PeakRun>();
        string blas = "";

        for (int rep = 0; rep < repeats; rep++)
        {
            var peakArgs = new[] { "--size", peakSize.ToString(CultureInfo.InvariantCulture) }.Concat(threadArgs).ToArray();
            var d = ChildProcess.Self(["train-vs-pytorch", "--peak-worker", .. peakArgs], deepenEnv)[^1];
            var t = ChildProcess.Run(python, [peer, "--peak", .. peakArgs], peerEnv)[^1];
            blas = CheckBlas(t);
            peaks.Add(new PeakRun(TrainResults.Deepen, (double)d["fp32_gflops"]!, (double)d["bf16_gflops"]!));
            peaks.Add(new PeakRun(TrainResults.PyTorch, (double)t["fp32_gflops"]!, (double)t["bf16_gflops"]!));
            log($"rep {rep + 1}/{repeats}: matmul peak {peakSize}² GFLOP/s — Deepen fp32 {peaks[^2].Fp32:F0} bf16 {peaks[^2].Bf16:F0}, PyTorch fp32 {peaks[^1].Fp32:F0} bf16 {peaks[^1].Bf16:F0}");
            foreach (var shape in shapes)
            {
                // An accumulated step is Accum times longer: fewer steps, and only the best precision (bf16) of each side.
                bool accumulated = shape.Accum > 1;
                if (accumulated && rep >= Math.Min(repeats, int.Parse(A("--accum-repeats", "3")))) continue;
                string stepsArg = accumulated ? A("--accum-steps", "2") : steps.ToString(CultureInfo.InvariantCulture);
                string warmupArg = accumulated ? A("--accum-warmup", "1") : warmup.ToString(CultureInfo.InvariantCulture);
                var common = shape.ToArgs().Concat(["--steps", stepsArg, "--warmup", warmupArg]).Concat(threadArgs).ToArray();
                var configs = new[] { (TrainResults.Deepen, "fp32"), (TrainResults.PyTorch, "fp32"), (TrainResults.Deepen, "bf16"), (TrainResults.PyTorch, "bf16") };
                foreach (var (impl, precision) in configs.Where(c => !accumulated || c.Item2 == "bf16"))
                {
                    var lines = impl == TrainResults.Deepen
                        ? ChildProcess.Self(["train-vs-pytorch", "--worker", .. common, "--precision", precision], deepenEnv)
                        : ChildProcess.Run(python, [peer, .. common, "--precision", precision], peerEnv);
                    if (impl == TrainResults.PyTorch) CheckBlas(lines[^1]);
                    var run = Summarise(shape.Name, impl, precision, rep, lines);
                    runs.Add(run);
                    log($"rep {rep + 1}/{repeats} {shape.Name,-4} {impl,-7} {precision}: {run.Ms,8:F1} ms/step (fwd {run.FwdMs:F0}, bwd {run.BwdMs:F0}, opt {run.OptMs:F0}; CPU {run.CpuMs:F0} ms), " +
                        $"{shape.TokensPerStep / run.Ms * 1000,8:F0} tokens/s, peak RSS {run.PeakRssMiB:F0} MiB, first loss {run.FirstLoss:F3}");
                }
            }
        }
        return new TrainResults(shapes, runs, peaks, peakSize, blas);
    }

    private static StepRun Summarise(string shape, string impl, string precision, int rep, List<JsonObject> lines)
    {
        var steps = lines.Where(l => l.ContainsKey("step")).ToList();
        var measured = steps.Where(l => !(bool)l["warmup"]!).ToList();
        if (measured.Count == 0) throw new InvalidOperationException($"{impl} {precision} {shape}: no measured steps");
        double M(string key) => Stats.Median(measured.Select(l => (double)l[key]!));
        var last = lines[^1];
        return new StepRun(shape, impl, precision, rep, M("ms"), M("fwd_ms"), M("bwd_ms"), M("opt_ms"), M("cpu_ms"), (double)last["peak_rss_mib"]!, (double)steps[0]["loss"]!);
    }

    /// <summary>The peer must have loaded the OpenMP build of OpenBLAS (design.md §4); returns the libraries it mapped.</summary>
    private static string CheckBlas(JsonObject line)
    {
        var libs = (line["blas"] as JsonArray)?.Select(n => (string)n!).ToList() ?? [];
        if (!libs.Any(l => l.Contains("openblas-openmp")))
            throw new InvalidOperationException($"the PyTorch peer did not load OpenBLAS from {OpenBlasOpenMp} (mapped: {string.Join(", ", libs)}); install libopenblas0-openmp");
        return string.Join(", ", libs.Select(Path.GetFileName));
    }

    /// <summary>The training tables and ratios as Markdown.</summary>
    public static string Format(TrainResults r)
    {
        var sb = new StringBuilder();
        var (peak32, peak16) = r.MachinePeak;
        var deepenPeak = r.Peaks.Where(p => p.Impl == TrainResults.Deepen).ToList();
        var torchPeak = r.Peaks.Where(p => p.Impl == TrainResults.PyTorch).ToList();
        sb.AppendLine($"Matmul peak, {r.PeakSize}² products, best of all runs (GFLOP/s): TorchSharp fp32 {deepenPeak.Max(p => p.Fp32):F0}, bf16 {deepenPeak.Max(p => p.Bf16):F0}; " +
                      $"PyTorch 1.13 fp32 {torchPeak.Max(p => p.Fp32):F0}, bf16 {torchPeak.Max(p => p.Bf16):F0}. Machine peak used below: fp32 {peak32:F0}, bf16 {peak16:F0}.");
        sb.AppendLine($"PyTorch peer BLAS: {r.Blas}.");
        foreach (var s in r.Shapes)
        {
            double flops = s.TrainingFlopsPerToken();
            int n = r.Runs.Where(x => x.Shape == s.Name).Select(x => x.Rep).Distinct().Count();
            sb.AppendLine();
            sb.AppendLine($"**{s.Name}**: {s.Describe()}; {flops / 1e6:F0} MFLOP/token (§5.3 + attention); median of {n} interleaved runs.");
            sb.AppendLine();
            sb.AppendLine("| impl | precision | ms/step | runs min–max | CPU ms/step | tokens/s | fwd / bwd / opt ms | fwd+bwd tokens/s | peak RSS MiB | GFLOP/s | % fp32 peak | % bf16 peak | fwd+bwd % bf16 peak |");
            sb.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var (impl, precision) in new[] { (TrainResults.Deepen, "fp32"), (TrainResults.PyTorch, "fp32"), (TrainResults.Deepen, "bf16"), (TrainResults.PyTorch, "bf16") })
            {
                var runs = r.Of(s, impl, precision).ToList();
                if (runs.Count == 0) continue;
                double ms = Stats.Median(runs.Select(x => x.Ms)), fwd = Stats.Median(runs.Select(x => x.FwdMs));
                double bwd = Stats.Median(runs.Select(x => x.BwdMs)), opt = Stats.Median(runs.Select(x => x.OptMs)), cpu = Stats.Median(runs.Select(x => x.CpuMs));
                double tps = s.TokensPerStep / (ms / 1000), gflops = flops * tps / 1e9, fwdBwdTps = s.TokensPerStep / ((fwd + bwd) / 1000);
                string label = precision == "fp32" ? "fp32" : impl == TrainResults.Deepen ? "bf16-mixed" : "bf16 autocast";
                sb.AppendLine($"| {(impl == TrainResults.PyTorch ? "PyTorch 1.13" : impl)} | {label} | {ms:F0} | {runs.Min(x => x.Ms):F0}–{runs.Max(x => x.Ms):F0} | {cpu:F0} | {tps:F0} | " +
                              $"{fwd:F0} / {bwd:F0} / {opt:F0} | {fwdBwdTps:F0} | {Stats.Median(runs.Select(x => x.PeakRssMiB)):F0} | {gflops:F1} | " +
                              $"{100 * gflops / peak32:F1} | {100 * gflops / peak16:F1} | {100 * flops * fwdBwdTps / 1e9 / peak16:F1} |");
            }
            sb.AppendLine();
            string Ratio(string p) => $"{r.TokensPerSecond(s, TrainResults.Deepen, p) / r.TokensPerSecond(s, TrainResults.PyTorch, p):F2}×";
            string Rss(string p) => $"{Stats.Median(r.Of(s, TrainResults.Deepen, p).Select(x => x.PeakRssMiB)) / Stats.Median(r.Of(s, TrainResults.PyTorch, p).Select(x => x.PeakRssMiB)):F2}×";
            var (bestDeepenP, bestDeepen) = r.Best(s, TrainResults.Deepen);
            var (bestTorchP, bestTorch) = r.Best(s, TrainResults.PyTorch);
            var measured = new[] { "fp32", "bf16" }.Where(p => r.Of(s, TrainResults.Deepen, p).Any() && r.Of(s, TrainResults.PyTorch, p).Any()).ToList();
            sb.AppendLine($"Deepen/PyTorch tokens/s: {string.Join(", ", measured.Select(p => $"{p} {Ratio(p)}"))}; best vs best (Deepen {bestDeepenP}, PyTorch {bestTorchP}) {bestDeepen / bestTorch:F2}×. " +
                          $"Peak RSS Deepen/PyTorch: {string.Join(", ", measured.Select(p => $"{p} {Rss(p)}"))}.");
        }
        return sb.ToString();
    }
}

/// <summary>Small statistics helpers.</summary>
public static class Stats
{
    /// <summary>The median (mean of the middle two for an even count); NaN for none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var a = values.Order().ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
}
