using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Deepen.Modeling;
using Deepen.Training;
using static TorchSharp.torch;

namespace Deepen.Bench;

/// <summary>
/// <c>op-profile</c>: where a training step's time goes, op by op, in Deepen and in the PyTorch peer — every
/// projection of a block (forward, and forward + backward), attention (Deepen: SDPA, the peer: explicit softmax),
/// a whole block, the head with its loss, and Newton–Schulz on every Muon matrix shape — each the best of several
/// timed batches (robust to other load).
/// Multiplied by how often a step runs each op (n no-grad + k grad iterations), the sum models the step; what the
/// model does not explain is elementwise work (norms, rope, residuals, casts) and framework overhead.
/// </summary>
public static class OpProfile
{
    /// <summary>One op: its name, how often a training step runs it forward-only and forward + backward.</summary>
    public sealed record Op(string Name, string Kind, long In, long Out, int ForwardOnly, int ForwardBackward);

    public static IReadOnlyList<Op> Ops(BenchShape s)
    {
        int gradLayers = s.Prelude + s.Coda + s.Grad * s.Core, fwdLayers = s.NoGrad * s.Core;
        long qkv = (long)(s.Heads + 2 * s.KvHeads) * s.HeadDim;
        var ops = new List<Op>
        {
            new("attn.Wqkv", "linear", s.D, qkv, fwdLayers, gradLayers),
            new("attn.proj", "linear", (long)s.Heads * s.HeadDim, s.D, fwdLayers, gradLayers),
            new("mlp.fc", "linear", s.D, 2L * s.Ffn, fwdLayers, gradLayers),
            new("mlp.proj", "linear", s.Ffn, s.D, fwdLayers, gradLayers),
            new("adapter", "linear", 2L * s.D, s.D, s.NoGrad, s.Grad),
            new("lm_head", "linear", s.D, s.Vocab, 0, 1),
            new("attention", "attention", 0, 0, fwdLayers, gradLayers),
            new("block", "block", 0, 0, fwdLayers, gradLayers),          // a whole pre-norm block: the two above plus norms, rope, residuals
            new("ln_f+lm_head+loss", "head", s.D, s.Vocab, 0, 1),
        };
        int layers = s.Prelude + s.Core + s.Coda;
        foreach (var (name, rows, cols, count) in new[] { ("Wqkv", qkv, (long)s.D, layers), ("attn.proj", (long)s.D, (long)s.Heads * s.HeadDim, layers),
                     ("mlp.fc", 2L * s.Ffn, (long)s.D, layers), ("mlp.proj", (long)s.D, (long)s.Ffn, layers), ("adapter", (long)s.D, 2L * s.D, 1) })
            ops.Add(new($"NS5 {name}", "ns", rows, cols, 0, count));   // once per step per Muon matrix
        return ops;
    }

    public static int Run(string[] args)
    {
        if (args.Contains("--worker")) return Worker(args);
        var shape = (Measure.Arg(args, "--size", "tiny") == "mid" ? BenchShape.Mid(int.Parse(Measure.Arg(args, "--batch", "1"))) : BenchShape.Tiny(int.Parse(Measure.Arg(args, "--batch", "1"))))
                    with { Seq = int.Parse(Measure.Arg(args, "--seq", "256")) };
        string threads = Measure.Arg(args, "--threads", "2");
        var common = shape.ToArgs().Concat(["--threads", threads]).ToArray();
        var env = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = threads };
        var deepen = ChildProcess.Self(["op-profile", "--worker", .. common], env);
        var peerEnv = new Dictionary<string, string>(env) { ["LD_LIBRARY_PATH"] = TrainVsPyTorch.OpenBlasOpenMp };
        var torch = ChildProcess.Run(Measure.Arg(args, "--python", "/usr/bin/python3"),
            [Measure.Arg(args, "--peer", Path.Combine(ChildProcess.RepoRoot(), "bench", "peer", "train_step.py")), "--op-profile", .. common], peerEnv);
        Console.WriteLine(Format(shape, threads, deepen, torch));
        return 0;
    }

    public static string Format(BenchShape shape, string threads, List<JsonObject> deepen, List<JsonObject> torch)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Op profile, {shape.Name}: {shape.Describe()}; {threads} threads; best-of timings, ms per call.");
        sb.AppendLine("Step model = Σ (forward-only count × fwd + grad count × fwd+bwd) over the ops a step runs.");
        sb.AppendLine();
        sb.AppendLine("| op | shape | dtype | fwd-only × | fwd+bwd × | Deepen fwd | PyTorch fwd | Deepen fwd+bwd | PyTorch fwd+bwd | Deepen ms/step | PyTorch ms/step |");
        sb.AppendLine("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        var totals = new Dictionary<(string Impl, string DType), double>();
        foreach (var op in Ops(shape))
            foreach (var dtype in op.Kind == "ns" ? new[] { "bf16" } : ["fp32", "bf16"])
            {
                JsonObject? Find(List<JsonObject> lines) => lines.FirstOrDefault(l => (string)l["op"]! == op.Name && (string)l["dtype"]! == dtype);
                var d = Find(deepen);
                var t = Find(torch);
                double F(JsonObject? o, string k) => o?[k] is JsonValue v ? (double)v : double.NaN;
                double StepMs(JsonObject? o) => op.ForwardOnly * F(o, "fwd_ms") + op.ForwardBackward * F(o, op.Kind == "ns" ? "fwd_ms" : "fwdbwd_ms");
                double ds = StepMs(d), ts = StepMs(t);
                foreach (var p in op.Kind == "ns" ? new[] { "fp32", "bf16" } : [dtype])   // the optimizer is the same in both precisions
                {
                    // Two models of the step: the parts (projections + attention) or whole blocks (+ adapter, head and loss).
                    bool parts = op.Kind is "linear" or "attention" or "ns", blocks = op.Kind is "block" or "head" or "ns" || op.Name == "adapter";
                    foreach (var (model, on) in new[] { ("parts", parts), ("blocks", blocks) })
                        if (on)
                        {
                            totals[("Deepen", p + model)] = totals.GetValueOrDefault(("Deepen", p + model)) + ds;
                            totals[("PyTorch", p + model)] = totals.GetValueOrDefault(("PyTorch", p + model)) + ts;
                        }
                }
                string shapeText = op.Kind switch
                {
                    "linear" => $"{shape.TokensPerMicroBatch}×{op.In}→{op.Out}",
                    "ns" => $"{op.In}×{op.Out}",
                    "block" => $"B{shape.Batch} T{shape.Seq} d{shape.D}",
                    "head" => $"{shape.TokensPerMicroBatch}×{op.In}→{op.Out} + CE",
                    _ => $"B{shape.Batch} H{shape.Heads} T{shape.Seq} hd{shape.HeadDim}",
                };
                sb.AppendLine($"| {op.Name} | {shapeText} | {dtype} | {op.ForwardOnly} | {op.ForwardBackward} | {F(d, "fwd_ms"):F3} | {F(t, "fwd_ms"):F3} | " +
                              $"{(op.Kind == "ns" ? "" : F(d, "fwdbwd_ms").ToString("F3", CultureInfo.InvariantCulture))} | {(op.Kind == "ns" ? "" : F(t, "fwdbwd_ms").ToString("F3", CultureInfo.InvariantCulture))} | {ds:F1} | {ts:F1} |");
            }
        sb.AppendLine();
        foreach (var p in new[] { "fp32", "bf16" })
        {
            sb.AppendLine($"Modelled step ({p}, projections + attention + Newton–Schulz): Deepen {totals[("Deepen", p + "parts")]:F0} ms, PyTorch {totals[("PyTorch", p + "parts")]:F0} ms.");
            sb.AppendLine($"Modelled step ({p}, whole blocks + adapter + head and loss + Newton–Schulz): Deepen {totals[("Deepen", p + "blocks")]:F0} ms, PyTorch {totals[("PyTorch", p + "blocks")]:F0} ms.");
        }
        return sb.ToString();
    }

    private static int Worker(string[] args)
    {
        var s = BenchShape.FromArgs(args);
        set_num_threads(int.Parse(Measure.Arg(args, "--threads", "2")));
        using var gen = new TorchSharp.torch.Generator(0);
        long m = s.TokensPerMicroBatch;
        foreach (var op in Ops(s))
        {
            foreach (var bf16 in op.Kind == "ns" ? new[] { true } : [false, true])
            {
                using var scope = NewDisposeScope();
                using var precision = MixedPrecision.Use(bf16 ? ScalarType.BFloat16 : null);
                double fwd, fwdBwd = double.NaN;
                if (op.Kind == "linear")
                {
                    using var proj = new Projection(op.In, op.Out, ScalarType.Float32);
                    ModelInit.Normal(proj, 0.02, 0);
                    var x = randn([s.Batch, s.Seq, op.In], generator: gen).requires_grad_(true);
                    var g = randn([s.Batch, s.Seq, op.Out], generator: gen);
                    fwd = Time(() => { using (no_grad()) proj.forward(x).Dispose(); });
                    fwdBwd = Time(() => { using var y = proj.forward(x); y.backward([g]); x.grad?.zero_(); });
                }
                else if (op.Kind == "attention")
                {
                    // As the model calls it: q, k, v from the (fp32, also under bf16-mixed) projection output, after rope.
                    var q = randn([s.Batch, s.Heads, s.Seq, s.HeadDim], generator: gen).requires_grad_(true);
                    var k = randn([s.Batch, s.KvHeads, s.Seq, s.HeadDim], generator: gen).requires_grad_(true);
                    var v = randn([s.Batch, s.KvHeads, s.Seq, s.HeadDim], generator: gen).requires_grad_(true);
                    var g = randn([s.Batch, s.Seq, (long)s.Heads * s.HeadDim], generator: gen);
                    fwd = Time(() => { using (no_grad()) AttentionKernel.Attend(q, k, v, causal: true).Dispose(); });
                    fwdBwd = Time(() => { using var y = AttentionKernel.Attend(q, k, v, causal: true); y.backward([g]); });
                }
                else if (op.Kind == "block")
                {
                    var config = s.ToConfig().Block;
                    using var block = new TransformerBlock(config, ScalarType.Float32, null);
                    ModelInit.Normal(block, 0.02, 0);
                    var (cos, sin) = RotaryEmbedding.For(config).CosSin(arange(s.Seq), ScalarType.Float32);   // (T, hd)
                    var x = randn([s.Batch, s.Seq, s.D], generator: gen).requires_grad_(true);
                    var g = randn([s.Batch, s.Seq, s.D], generator: gen);
                    fwd = Time(() => { using (no_grad()) block.forward(x, cos, sin).Dispose(); });
                    fwdBwd = Time(() => { using var y = block.forward(x, cos, sin); y.backward([g]); x.grad?.zero_(); });
                }
                else if (op.Kind == "head")
                {
                    using var norm = new RmsNorm(s.D, 1e-5, ScalarType.Float32);
                    using var head = new Projection(s.D, s.Vocab, ScalarType.Float32);
                    ModelInit.Normal(head, 0.02, 0);
                    var x = randn([s.Batch, s.Seq, s.D], generator: gen).requires_grad_(true);
                    var labels = randint(s.Vocab, [s.Batch * s.Seq], generator: gen);
                    Tensor Loss() => nn.functional.cross_entropy(head.forward(norm.forward(x)).reshape(-1, s.Vocab).to_type(ScalarType.Float32), labels);
                    fwd = Time(() => { using (no_grad()) Loss().Dispose(); });
                    fwdBwd = Time(() => { using var loss = Loss(); loss.backward(); x.grad?.zero_(); });
                }
                else
                {
                    var w = randn([op.In, op.Out], generator: gen);
                    fwd = Time(() => NewtonSchulz.Orthogonalize(w).Dispose());
                }
                Console.WriteLine(new JsonObject { ["op"] = op.Name, ["dtype"] = bf16 ? "bf16" : "fp32", ["fwd_ms"] = fwd, ["fwdbwd_ms"] = double.IsNaN(fwdBwd) ? null : fwdBwd }.ToJsonString());
            }
        }
        return 0;
    }

    /// <summary>Milliseconds per call: the best of 5 batches of calls, each batch about 50 ms or at least 3 calls.</summary>
    public static double Time(Action call)
    {
        for (int i = 0; i < 2; i++) Once(call);
        var one = Stopwatch.StartNew();
        Once(call);
        int inner = Math.Max(3, (int)(50 / Math.Max(0.01, one.Elapsed.TotalMilliseconds)));
        double best = double.MaxValue;
        for (int r = 0; r < 5; r++)
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < inner; i++) Once(call);
            best = Math.Min(best, watch.Elapsed.TotalMilliseconds / inner);
        }
        return best;
    }

    private static void Once(Action call)
    {
        using var scope = NewDisposeScope();
        call();
    }
}
