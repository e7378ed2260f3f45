using System.Globalization;
using System.Text;

namespace Deepen.Bench;

/// <summary>
/// <c>perf-report</c>: every measurement of the performance issue in one run and one Markdown report — the training
/// step against PyTorch with achieved FLOP/s against the matmul peak (<see cref="TrainVsPyTorch"/>), decode and
/// prefill speed (<see cref="DecodePrefill"/>), conversion time and peak RSS (<see cref="ConvertSpeed"/>) — headed by
/// the date, the machine, the thread and OpenMP settings and the machine's load average sampled during the run, and
/// closed by where each target of the issue stands. <c>--sections train,decode,convert</c> picks sections; every
/// flag of the sections passes through.
/// </summary>
public static class PerfReport
{
    public static int Run(string[] args)
    {
        var sections = Measure.Arg(args, "--sections", "train,decode,convert").Split(',').ToHashSet();
        int threads = int.Parse(Measure.Arg(args, "--threads", "2"), CultureInfo.InvariantCulture);
        using var load = new LoadSampler(TimeSpan.FromSeconds(5));
        var started = DateTime.Now;
        TrainResults? train = sections.Contains("train") ? TrainVsPyTorch.Collect(args, Console.WriteLine) : null;
        var decode = new List<System.Text.Json.Nodes.JsonObject>();
        if (sections.Contains("decode"))
            foreach (var t in Measure.Arg(args, "--decode-threads", "1,2").Split(','))
            {
                decode.Add(ChildProcess.Self(["decode-prefill", "--threads", t,
                    "--recurrence", Measure.Arg(args, "--recurrence", "8"), "--reps", Measure.Arg(args, "--decode-reps", "3"),
                    "--tokens", Measure.Arg(args, "--decode-tokens", "128"), "--prefill", Measure.Arg(args, "--prefill", "256")],
                    new Dictionary<string, string> { ["OMP_NUM_THREADS"] = t })[^1]);
                Console.WriteLine($"decode/prefill: {decode[^1].ToJsonString()}");
            }
        List<ConvertRun>? convert = sections.Contains("convert") ? ConvertSpeed.Collect(args, Console.WriteLine) : null;
        var elapsed = DateTime.Now - started;

        var sb = new StringBuilder();
        sb.AppendLine($"## Performance table, {started:yyyy-MM-dd HH:mm} ({elapsed.TotalMinutes:F0} min)");
        sb.AppendLine();
        sb.AppendLine($"Machine: {Cpu()}, {Environment.ProcessorCount} logical CPUs; {threads} threads on both sides; " +
                      $"OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset)"}. " +
                      $"Command: `dotnet run --project bench/Deepen.Bench -c Release -- perf-report {string.Join(' ', args)}`.");
        sb.AppendLine();
        sb.AppendLine($"**Machine load** (1-min load average, sampled every 5 s during the run): min {load.Min:F1}, median {load.Median:F1}, max {load.Max:F1}. " +
                      $"The benchmark itself accounts for about {threads}; well above that, other processes shared the cores and every figure below is distorted " +
                      "(absolute speeds low, ratios noisy).");
        if (train is not null)
        {
            sb.AppendLine();
            sb.AppendLine("### Training step (forward + backward + clip + Muon/aux-Adam step)");
            sb.AppendLine();
            sb.Append(TrainVsPyTorch.Format(train));
        }
        if (decode.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("### Inference (tiny model, random weights, float32, KV cache, batch 1)");
            sb.AppendLine();
            sb.AppendLine($"| r | threads | prefill tokens/s ({decode[0]["prefill_tokens"]}-token prompt) | decode tokens/s ({decode[0]["decode_tokens"]} tokens after a 32-token prompt) | peak RSS MiB |");
            sb.AppendLine("|--:|--:|--:|--:|--:|");
            foreach (var d in decode)
                sb.AppendLine($"| {d["recurrence"]} | {d["threads"]} | {(double)d["prefill_tokens_per_s"]!:F0} | {(double)d["decode_tokens_per_s"]!:F1} | {(double)d["peak_rss_mib"]!:F0} |");
        }
        if (convert is { Count: > 0 })
        {
            sb.AppendLine();
            sb.AppendLine($"### Conversion (`Deepen.Cli convert --from {Measure.Arg(args, "--tinyllama", "/tmp/tinyllama-shaped")} --shape {Measure.Arg(args, "--convert-shape", "4,8,4")} --dtype bfloat16`)");
            sb.AppendLine();
            sb.AppendLine("Source: the TinyLlama-shaped random bf16 checkpoint of `make-tinyllama` (22 layers, d 2048, 1.1 B parameters) unless --tinyllama says otherwise.");
            sb.AppendLine();
            sb.AppendLine("| run | wall s (process) | peak RSS MiB (process) | CLI-reported s |");
            sb.AppendLine("|--:|--:|--:|--:|");
            for (int i = 0; i < convert.Count; i++)
                sb.AppendLine($"| {i + 1} | {convert[i].WallSeconds:F1} | {convert[i].PeakRssMiB:F0} | {convert[i].CliSeconds:F1} |");
            sb.AppendLine($"| median | {Stats.Median(convert.Select(c => c.WallSeconds)):F1} | {Stats.Median(convert.Select(c => c.PeakRssMiB)):F0} | {Stats.Median(convert.Select(c => c.CliSeconds)):F1} |");
        }
        if (train is not null)
        {
            sb.AppendLine();
            sb.AppendLine("### Targets");
            sb.AppendLine();
            sb.Append(Targets(train));
        }
        var report = sb.ToString();
        Console.WriteLine();
        Console.WriteLine(report);
        var path = Measure.Arg(args, "--report", "");
        if (path.Length > 0)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path + ".tmp", report);
            File.Move(path + ".tmp", path, overwrite: true);
            Console.WriteLine($"wrote {path}");
        }
        return 0;
    }

    /// <summary>The issue's three targets, each with its measured value and verdict.</summary>
    public static string Targets(TrainResults r)
    {
        var sb = new StringBuilder();
        var (_, peak16) = r.MachinePeak;
        if (r.Shapes.FirstOrDefault(s => s.Name == "tiny") is { } tiny)
        {
            var (dp, d) = r.Best(tiny, TrainResults.Deepen);
            var (tp, t) = r.Best(tiny, TrainResults.PyTorch);
            double ratio = d / t;
            sb.AppendLine($"- Tiny model training tokens/s, Deepen best ({dp}) / PyTorch best ({tp}): **{ratio:F2}×** — target ≥ 1.0×: {(ratio >= 1 ? "met" : "missed")}; " +
                          $"stretch ≥ 1.3×: {(ratio >= 1.3 ? "met" : "missed")}.");
        }
        if (r.Shapes.FirstOrDefault(s => s.Name == "mid") is { } mid)
        {
            var (dp, d) = r.Best(mid, TrainResults.Deepen);
            double pct = 100 * mid.TrainingFlopsPerToken() * d / 1e9 / peak16;
            var best = r.Of(mid, TrainResults.Deepen, dp).ToList();
            double fwdBwd = mid.TokensPerStep / ((Stats.Median(best.Select(x => x.FwdMs)) + Stats.Median(best.Select(x => x.BwdMs))) / 1000);
            double pctFwdBwd = 100 * mid.TrainingFlopsPerToken() * fwdBwd / 1e9 / peak16;
            sb.AppendLine($"- Mid-size model, Deepen best ({dp}) achieved FLOP/s (§5.3 + attention) / measured bf16 matmul peak: **{pct:F1}%** of the whole step " +
                          $"(target ≥ 40%: {(pct >= 40 ? "met" : "missed")}); {pctFwdBwd:F1}% over forward + backward alone (the optimizer step's Newton–Schulz FLOPs are not in §5.3).");
        }
        if (r.Shapes.FirstOrDefault(s => s.Name == "mid-accum") is { } accum)
        {
            // With gradient accumulation the optimizer step is shared by more tokens, as in real training (the method's
            // 2^20 tokens per step; configs/tiny-base.yaml's 16 × 256).
            var (dp, d) = r.Best(accum, TrainResults.Deepen);
            var (tp, t) = r.Best(accum, TrainResults.PyTorch);
            double pct = 100 * accum.TrainingFlopsPerToken() * d / 1e9 / peak16, pctTorch = 100 * accum.TrainingFlopsPerToken() * t / 1e9 / peak16;
            sb.AppendLine($"- Mid-size model with {accum.Accum} micro-batches per optimizer step ({accum.TokensPerStep} tokens), measured: Deepen ({dp}) **{pct:F1}%** of the bf16 peak " +
                          $"(target ≥ 40%: {(pct >= 40 ? "met" : "missed")}); PyTorch ({tp}) {pctTorch:F1}%.");
        }
        foreach (var s in r.Shapes)
            foreach (var p in new[] { "fp32", "bf16" })
            {
                double dr = Stats.Median(r.Of(s, TrainResults.Deepen, p).Select(x => x.PeakRssMiB));
                double tr = Stats.Median(r.Of(s, TrainResults.PyTorch, p).Select(x => x.PeakRssMiB));
                if (double.IsNaN(dr) || double.IsNaN(tr)) continue;
                sb.AppendLine($"- Peak RSS, {s.Name} {p}: Deepen {dr:F0} MiB vs PyTorch {tr:F0} MiB — target Deepen ≤ PyTorch: {(dr <= tr ? "met" : "missed")}.");
            }
        return sb.ToString();
    }

    private static string Cpu()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException) { return "unknown CPU"; }
    }
}

/// <summary>Samples the 1-minute load average from /proc/loadavg in the background.</summary>
public sealed class LoadSampler : IDisposable
{
    private readonly List<double> _samples = [];
    private readonly Timer _timer;

    public LoadSampler(TimeSpan every)
    {
        Sample();
        _timer = new Timer(_ => Sample(), null, every, every);
    }

    public double Min { get { lock (_samples) return _samples.Count == 0 ? double.NaN : _samples.Min(); } }
    public double Max { get { lock (_samples) return _samples.Count == 0 ? double.NaN : _samples.Max(); } }
    public double Median { get { lock (_samples) return Stats.Median(_samples); } }

    private void Sample()
    {
        try
        {
            double v = double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
            lock (_samples) _samples.Add(v);
        }
        catch (IOException) { }
    }

    public void Dispose() => _timer.Dispose();
}
