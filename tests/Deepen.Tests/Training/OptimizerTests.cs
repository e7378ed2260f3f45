using Deepen.Checkpoints;
using Deepen.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Tests.Training;

/// <summary>
/// Muon, aux Adam and AdamW against tests/fixtures/training/optimizer_reference.safetensors, written by
/// reference_training.py (PyTorch 1.13, written from method.md §6.1), plus properties: Newton–Schulz
/// orthogonality, exact resume through a state file, gradient clipping, grouping, no tensor leaks.
/// </summary>
public class OptimizerTests(ITestOutputHelper output)
{
    private static string Fixture => Path.Combine(TestPaths.Fixtures, "training", "optimizer_reference.safetensors");

    private static readonly string[] MuonNames = ["blocks.0.attn.Wqkv.weight", "blocks.0.mlp.proj.weight", "adapter.weight"];
    private static readonly string[] AdamNames = ["norm.weight", "wte.weight"];

    private static double MaxDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.to_type(ScalarType.Float64) - b.to_type(ScalarType.Float64)).abs().max().item<double>();
    }

    private static Parameter NewParameter(Tensor value) => new(value.detach().clone(), requires_grad: true);

    [Theory]
    [InlineData("square", NewtonSchulzForm.Reference)]
    [InlineData("wide", NewtonSchulzForm.Reference)]
    [InlineData("tall", NewtonSchulzForm.Reference)]
    [InlineData("square", NewtonSchulzForm.Fused)]
    [InlineData("wide", NewtonSchulzForm.Fused)]
    [InlineData("tall", NewtonSchulzForm.Fused)]
    public void NewtonSchulzMatchesReference(string which, NewtonSchulzForm form)
    {
        using var file = SafetensorsFile.Open(Fixture);
        using var input = file.Read($"ns.{which}.input");
        using var want = file.Read(form == NewtonSchulzForm.Reference ? $"ns.{which}.output" : $"ns.{which}.fused");
        using var got = NewtonSchulz.Orthogonalize(input, form: form);
        Assert.Equal(ScalarType.BFloat16, got.dtype);
        Assert.Equal(input.shape, got.shape);
        double diff = MaxDiff(got, want);
        output.WriteLine($"NS {which} {form}: max |Δ| = {diff:E3}");
        Assert.True(diff <= NsTolerance, $"NS {which} {form}: max |Δ| = {diff:E3} > {NsTolerance}");
    }

    // The two forms are the same polynomial; they differ only in where bf16 rounds, and the fused form rounds
    // less: against the iteration carried out in float64 from the same bf16 start, its error is smaller.
    [Theory]
    [InlineData("square")]
    [InlineData("wide")]
    [InlineData("tall")]
    public void FusedNewtonSchulzIsCloserToExactArithmetic(string which)
    {
        using var scope = NewDisposeScope();
        using var file = SafetensorsFile.Open(Fixture);
        var input = file.Read($"ns.{which}.input");
        bool tall = input.shape[0] > input.shape[1];
        var x = input.to_type(ScalarType.BFloat16);
        if (tall) x = x.t();
        x = (x / x.norm().add(1e-7)).to_type(ScalarType.Float64);
        for (int i = 0; i < 5; i++)
        {
            var a = x.mm(x.t());
            x = x * NewtonSchulz.A + (a * NewtonSchulz.B + a.mm(a) * NewtonSchulz.C).mm(x);
        }
        if (tall) x = x.t();
        double Rms(NewtonSchulzForm form) =>
            (NewtonSchulz.Orthogonalize(input, form: form).to_type(ScalarType.Float64) - x).square().mean().sqrt().item<double>();
        double reference = Rms(NewtonSchulzForm.Reference), fused = Rms(NewtonSchulzForm.Fused);
        output.WriteLine($"NS {which}: rms error vs float64, reference form {reference:E3}, fused form {fused:E3}");
        Assert.True(fused < reference, $"fused {fused:E3} ≥ reference {reference:E3}");
    }

    [Theory]
    [InlineData(NewtonSchulzForm.Reference)]
    [InlineData(NewtonSchulzForm.Fused)]
    public void NewtonSchulzOnAStackEqualsOneMatrixAtATime(NewtonSchulzForm form)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(99, CPU);
        foreach (long[] shape in new[] { new long[] { 3, 48, 12 }, [4, 16, 40], [2, 24, 24] })
        {
            var g = randn(shape, generator: gen);
            var stacked = NewtonSchulz.Orthogonalize(g, form: form);
            Assert.Equal(g.shape, stacked.shape);
            for (int i = 0; i < shape[0]; i++)
                Assert.True(MaxDiff(stacked[i], NewtonSchulz.Orthogonalize(g[i], form: form)) == 0.0,
                    $"{form} [{string.Join(", ", shape)}]: matrix {i} differs when orthogonalised in a stack");
        }
    }

    // Both sides do the same bf16 roundings (matmuls accumulated in float and rounded once, scalars applied in
    // float; in the fused form each addmm rounded once), so the outputs are bit-identical here (measured max |Δ| = 0). 1e-3 is below one bf16 ulp of every
    // entry ≥ 0.25 (ulp ≥ 2e-3), so any systematic rounding difference shows: PyTorch 1.13's habit of rounding
    // the scalar to bf16 first (−4.775 → −4.78125) moved the outputs by 0.03–0.047 before the reference spelled
    // it out. It leaves room for a rare flip in a small entry on a different BLAS path.
    private const double NsTolerance = 1e-3;

    [Theory]
    [InlineData(NewtonSchulzForm.Reference)]
    [InlineData(NewtonSchulzForm.Fused)]
    public void MuonAndAuxAdamTwoStepsMatchReference(NewtonSchulzForm form)
    {
        using var file = SafetensorsFile.Open(Fixture);
        var parameters = new List<(string, Parameter)>();
        foreach (var n in MuonNames) parameters.Add((n, NewParameter(file.Read($"muon.{n}.w0"))));
        foreach (var n in AdamNames) parameters.Add((n, NewParameter(file.Read($"adam.{n}.w0"))));
        using var opt = new MuonWithAuxAdam(parameters, new MuonSettings(Lr: 0.02, WeightDecay: 0.1, NsForm: form), new AdamSettings(Lr: 0.01, WeightDecay: 0.1));
        string muonKey = form == NewtonSchulzForm.Reference ? "muon" : "muon_fused";
        var (muonGroup, adamGroup) = ParameterGrouping.Split(parameters);   // the groups the optimizer was made with
        Assert.Equal(MuonNames.Order(StringComparer.Ordinal).ToHashSet(), muonGroup.Select(p => p.Name).ToHashSet());
        Assert.Equal(["wte.weight", "norm.weight"], adamGroup.Select(p => p.Name));   // embeddings before norms, as [R]

        double[] multipliers = [0.5, 1.0];
        for (int i = 1; i <= 2; i++)
        {
            foreach (var (n, p) in parameters)
                p.grad = file.Read($"{(MuonNames.Contains(n) ? "muon" : "adam")}.{n}.grad{i}");
            opt.Step(multipliers[i - 1]);
            opt.ZeroGrad();
            foreach (var (n, p) in parameters)
            {
                bool isMuon = MuonNames.Contains(n);
                using var want = file.Read($"{(isMuon ? muonKey : "adam")}.{n}.w{i}");
                double diff = MaxDiff(p, want);
                output.WriteLine($"step {i} {n}: max |Δw| = {diff:E3}");
                Assert.True(diff <= WeightTolerance, $"step {i} {n}: max |Δw| = {diff:E3}");
            }
        }
        using var state = opt.StateDict();
        foreach (var n in MuonNames)
        {
            using var want = file.Read($"muon.{n}.momentum2");
            Assert.True(MaxDiff(state["muon.momentum." + n], want) <= 1e-7, $"momentum of {n}");
        }
        foreach (var n in AdamNames)
        {
            using var m = file.Read($"adam.{n}.m2");
            using var v = file.Read($"adam.{n}.v2");
            Assert.True(MaxDiff(state["adam.m." + n], m) <= 1e-7 && MaxDiff(state["adam.v." + n], v) <= 1e-9, $"moments of {n}");
        }
        Assert.Equal(2L, state["adam.step"].item<long>());
        foreach (var (_, p) in parameters) p.Dispose();
    }

    // Muon moves a weight by lr·O with lr = 0.01 then 0.02; one bf16 ulp of an O entry near 1 (2⁻⁸) moves it by
    // ≥ 3.9e-5, so 1e-5 demands the reference's bf16 update exactly, while fp32 rounding of the weight update
    // itself is ~1e-8. Measured max |Δw| = 0 for Muon and Adam. (Scaling O in place with libtorch's mul_(Scalar),
    // which rounds √3 to bf16, gave 3.9e-5 and 9.8e-5 on the tall matrix.) Adam, fp32 throughout, is held to the same.
    private const double WeightTolerance = 1e-5;

    [Theory]
    [InlineData(1L)]            // every matrix alone
    [InlineData(2L * 24 * 8)]   // stacks of two, and one left over
    public void MuonStepDoesNotDependOnHowMatricesAreStacked(long stackElements)
    {
        // Three same-shape matrices (one stack by default) against the same run split into smaller stacks.
        List<(string, Parameter)> Model()
        {
            using var gen = new Generator(7, CPU);
            return [.. Enumerable.Range(0, 3).Select(i => ($"transformer.core_block.{i}.attn.Wqkv.weight", new Parameter(randn(24, 8, generator: gen) * 0.2, requires_grad: true)))];
        }
        var whole = Model();
        var split = Model();
        using var optWhole = new MuonWithAuxAdam(whole, new MuonSettings(Lr: 0.02));
        using var optSplit = new MuonWithAuxAdam(split, new MuonSettings(Lr: 0.02, NsStackElements: stackElements));
        for (int step = 0; step < 2; step++)
        {
            using var gen = new Generator((ulong)(50 + step), CPU);
            foreach (var ((_, a), (_, b)) in whole.Zip(split)) { var g = randn(24, 8, generator: gen) * 0.05; a.grad = g; b.grad = g.clone(); }
            optWhole.Step(1.0); optSplit.Step(1.0);
        }
        foreach (var ((name, a), (_, b)) in whole.Zip(split))
            Assert.True(MaxDiff(a, b) == 0.0, $"{name} differs with stacks of {stackElements} elements");
        Assert.Contains(whole, p => MaxDiff(p.Item2, Model().First(q => q.Item1 == p.Item1).Item2) > 1e-3);   // the steps did move the weights
        foreach (var (_, p) in whole.Concat(split)) p.Dispose();
    }

    [Fact]
    public void AdamWTwoStepsMatchTorchOptimAdamW()
    {
        using var file = SafetensorsFile.Open(Fixture);
        var w = NewParameter(file.Read("adamw.w0"));
        using var opt = new AdamWOptimizer([("w", w)], new AdamWSettings(Lr: 0.01, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1));
        double[] multipliers = [0.5, 1.0];
        for (int i = 1; i <= 2; i++)
        {
            w.grad = file.Read($"adamw.grad{i}");
            opt.Step(multipliers[i - 1]);
            opt.ZeroGrad();
            using var want = file.Read($"adamw.w{i}");
            double diff = MaxDiff(w, want);
            output.WriteLine($"AdamW step {i}: max |Δw| = {diff:E3}");
            Assert.True(diff <= 1e-6, $"AdamW step {i}: max |Δw| = {diff:E3}");
        }
        w.Dispose();
    }

    [Fact]
    public void NewtonSchulzOutputIsNearlyOrthogonal()
    {
        // The quintic's fixed point is not 1: singular values of the output spread over about [0.7, 1.2].
        // A random square matrix has a few tiny singular values that five steps cannot lift, so allow ≤ 10 % below 0.6.
        using var scope = NewDisposeScope();
        using var gen = new Generator(1234, CPU);
        var square = NewtonSchulz.Orthogonalize(randn(32, 32, generator: gen)).to_type(ScalarType.Float32);
        var sv = linalg.svdvals(square);
        output.WriteLine($"square: σ ∈ [{sv.min().item<float>():F3}, {sv.max().item<float>():F3}]");
        Assert.True(sv.max().item<float>() <= 1.25f);
        Assert.True(sv.lt(0.6f).sum().item<long>() <= 3);
        // A wide Gaussian matrix is well conditioned: every singular value lands in the band.
        var wide = NewtonSchulz.Orthogonalize(randn(16, 64, generator: gen)).to_type(ScalarType.Float32);
        var svw = linalg.svdvals(wide);
        output.WriteLine($"wide: σ ∈ [{svw.min().item<float>():F3}, {svw.max().item<float>():F3}]");
        Assert.True(svw.min().item<float>() >= 0.6f && svw.max().item<float>() <= 1.25f);
        // Whereas the input's singular values are far from 1.
        var raw = linalg.svdvals(randn(16, 64, generator: gen));
        Assert.True(raw.max().item<float>() > 5);
    }

    private static List<(string, Parameter)> SmallModel(int seed)
    {
        using var gen = new Generator((ulong)seed, CPU);
        return
        [
            ("transformer.wte.weight", new Parameter(randn(10, 8, generator: gen), requires_grad: true)),
            ("transformer.core_block.0.norm_1.weight", new Parameter(ones(8), requires_grad: true)),
            ("transformer.core_block.0.attn.Wqkv.weight", new Parameter(randn(24, 8, generator: gen) * 0.2, requires_grad: true)),
            ("transformer.core_block.0.mlp.proj.weight", new Parameter(randn(8, 16, generator: gen) * 0.2, requires_grad: true)),
            ("transformer.adapter.weight", new Parameter(randn(8, 16, generator: gen) * 0.2, requires_grad: true)),
            ("lm_head.weight", new Parameter(randn(10, 8, generator: gen) * 0.2, requires_grad: true)),
        ];
    }

    private static void SetGrads(List<(string, Parameter)> ps, int step)
    {
        using var gen = new Generator((ulong)(100 + step), CPU);
        foreach (var (_, p) in ps) p.grad = randn(p.shape, generator: gen) * 0.05;
    }

    public static TheoryData<string> OptimizerKinds => new() { "muon", "adamw" };

    private static ITrainingOptimizer Create(string kind, List<(string, Parameter)> ps) => kind == "muon"
        ? new MuonWithAuxAdam(ps, new MuonSettings(Lr: 0.02), new AdamSettings(Lr: 0.01))
        : new AdamWOptimizer(ps, new AdamWSettings(Lr: 0.01));

    [Theory]
    [MemberData(nameof(OptimizerKinds))]
    public void StateRoundTripThroughAFileGivesAnIdenticalNextStep(string kind)
    {
        using var dir = new TestPaths.TempDir();
        var a = SmallModel(1);
        using var optA = Create(kind, a);
        for (int s = 0; s < 3; s++) { SetGrads(a, s); optA.Step(0.7); optA.ZeroGrad(); }
        OptimizerStateDict.Save(optA, dir["optimizer.safetensors"]);

        var b = SmallModel(2);                                       // A's weights, state loaded from the file
        var c = SmallModel(3);                                       // A's weights, fresh state
        foreach (var ((_, pa), (_, pb), (_, pc)) in a.Zip(b, c)) using (no_grad()) { pb.copy_(pa); pc.copy_(pa); }
        using var optB = Create(kind, b);
        using var optC = Create(kind, c);
        OptimizerStateDict.Load(optB, dir["optimizer.safetensors"]);
        Assert.Equal(optA.StepCount, optB.StepCount);

        SetGrads(a, 3); SetGrads(b, 3); SetGrads(c, 3);
        optA.Step(1.0); optB.Step(1.0); optC.Step(1.0);
        foreach (var ((name, pa), (_, pb)) in a.Zip(b))
            Assert.True(MaxDiff(pa, pb) == 0.0, $"{kind}: {name} differs after resume");
        Assert.Contains(a.Zip(c), x => MaxDiff(x.First.Item2, x.Second.Item2) > 1e-4);   // the state matters
        foreach (var (_, p) in a.Concat(b).Concat(c)) p.Dispose();
    }

    [Fact]
    public void LoadingAMismatchedStateNamesTheEntry()
    {
        using var dir = new TestPaths.TempDir();
        var a = SmallModel(1);
        using var opt = new MuonWithAuxAdam(a);
        OptimizerStateDict.Save(opt, dir["s.safetensors"]);
        var other = SmallModel(1).Take(5).Select(x => x.Item1 == "transformer.adapter.weight" ? (x.Item1, new Parameter(zeros(8, 12), true)) : x).ToList();
        using var opt2 = new MuonWithAuxAdam(other);
        var e = Assert.Throws<DeepenException>(() => OptimizerStateDict.Load(opt2, dir["s.safetensors"]));
        Assert.Contains("s.safetensors", e.Message);
        output.WriteLine(e.Message);
    }

    [Theory]
    [MemberData(nameof(OptimizerKinds))]
    public void RepeatedStepsLeaveNoLiveTensors(string kind)
    {
        using var outer = NewDisposeScope();         // anything the optimizer leaks would land here and be counted
        var ps = SmallModel(5);
        using var opt = Create(kind, ps);
        SetGrads(ps, 0);
        opt.Step(1.0);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 10; i++)
        {
            opt.Step(0.5);
            GradientClipping.ClipGlobalNorm(ps.Select(p => p.Item2), 1.0);
        }
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(before, after);
        opt.ZeroGrad();
        Assert.All(ps, p => Assert.Null(p.Item2.grad));
    }

    [Fact]
    public void ClipGlobalNormReturnsThePreClipNormAndScales()
    {
        var a = new Parameter(zeros(2), true) { grad = tensor(new float[] { 3, 0 }) };
        var b = new Parameter(zeros(1, 1), true) { grad = tensor(new float[,] { { 4 } }) };
        Assert.Equal(5.0, GradientClipping.ClipGlobalNorm([a, b], 10.0), 6);         // below the limit: unchanged
        Assert.Equal(3.0f, a.grad!.data<float>()[0], 6);
        Assert.Equal(5.0, GradientClipping.ClipGlobalNorm([a, b], 1.0), 6);
        Assert.Equal(3.0 / (5 + 1e-6), a.grad!.data<float>()[0], 6);                 // scaled by max / (norm + 1e-6)
        Assert.Equal(4.0 / (5 + 1e-6), b.grad!.data<float>()[0], 6);
        Assert.Equal(0.0, GradientClipping.ClipGlobalNorm([new Parameter(zeros(3), true)], 1.0));
    }

    [Fact]
    public void GroupingFollowsTheNameRulesAndSortsMuonDeterministically()
    {
        var ps = new List<(string, Parameter)>
        {
            ("transformer.wte.weight", new Parameter(zeros(10, 8), true)),
            ("transformer.prelude.0.norm_1.weight", new Parameter(zeros(8), true)),
            ("transformer.prelude.0.attn.Wqkv.weight", new Parameter(zeros(12, 8), true)),
            ("transformer.prelude.0.mlp.fc.weight", new Parameter(zeros(16, 8), true)),
            ("transformer.adapter.weight", new Parameter(zeros(8, 16), true)),
            ("transformer.coda.0.attn.proj.weight", new Parameter(zeros(8, 8), true)),
            ("transformer.coda.0.attn.Wqkv.bias", new Parameter(zeros(12), true)),
            ("transformer.core_block.0.attn.proj.weight", new Parameter(zeros(8, 8), true)),
            ("transformer.ln_f.weight", new Parameter(zeros(8), true)),
            ("lm_head.weight", new Parameter(zeros(10, 8), true)),
            ("model.embed_tokens.weight", new Parameter(zeros(10, 8), true)),
            ("model.layers.0.self_attn.q_norm.weight", new Parameter(zeros(8), true)),
            ("frozen.weight", new Parameter(zeros(8, 8), false)),
        };
        var (muon, adam) = ParameterGrouping.Split(ps);
        Assert.Equal(
            ["transformer.adapter.weight",                  // 128, (8, 16)
             "transformer.prelude.0.mlp.fc.weight",         // 128, (16, 8)
             "transformer.prelude.0.attn.Wqkv.weight",      // 96
             "transformer.coda.0.attn.proj.weight",         // 64, (8, 8), names ordinal
             "transformer.core_block.0.attn.proj.weight"],
            muon.Select(p => p.Name));
        Assert.Equal(
            ["transformer.wte.weight", "lm_head.weight", "model.embed_tokens.weight",
             "transformer.prelude.0.norm_1.weight", "transformer.coda.0.attn.Wqkv.bias", "transformer.ln_f.weight",
             "model.layers.0.self_attn.q_norm.weight"],
            adam.Select(p => p.Name));
        Assert.Equal(OptimizerGroup.Adam, ParameterGrouping.Classify("some.gain", [8]));   // not 2-D → cannot be Muon
        foreach (var (_, p) in ps) p.Dispose();
    }

    [Fact]
    public void MuonOnRowBlocksOfAFusedMatrixEqualsMuonOnTheSeparateMatrices()
    {
        // A plain model's fused Wqkv holds HF's q, k and v: with row blocks, Muon must step it exactly as the three
        // separate matrices of an HF model (the paper's baseline), not as one (24, 8) matrix.
        List<(string, Parameter)> Separate()
        {
            using var gen = new Generator(11, CPU);
            return [("q.weight", new Parameter(randn(16, 8, generator: gen) * 0.2, true)), ("k.weight", new Parameter(randn(4, 8, generator: gen) * 0.2, true)),
                    ("v.weight", new Parameter(randn(4, 8, generator: gen) * 0.2, true))];
        }
        var separate = Separate();
        var fused = new Parameter(cat(separate.Select(p => (Tensor)p.Item2).ToList(), 0).detach().clone(), true);   // (24, 8)
        var whole = new Parameter(fused.detach().clone(), true);
        using var optSeparate = new MuonWithAuxAdam(separate, new MuonSettings(Lr: 0.02));
        using var optFused = new MuonWithAuxAdam(([new NamedParameter("Wqkv.weight", fused) { RowBlocks = [16, 4, 4] }], []), new MuonSettings(Lr: 0.02));
        using var optWhole = new MuonWithAuxAdam([("Wqkv.weight", whole)], new MuonSettings(Lr: 0.02));
        for (int step = 0; step < 3; step++)
        {
            using var gen = new Generator((ulong)(70 + step), CPU);
            var g = randn(24, 8, generator: gen) * 0.05;
            long row = 0;
            foreach (var (_, p) in separate) { p.grad = g.narrow(0, row, p.shape[0]).clone(); row += p.shape[0]; }
            fused.grad = g.clone();
            whole.grad = g.clone();
            optSeparate.Step(1.0); optFused.Step(1.0); optWhole.Step(1.0);
        }
        using var expected = cat(separate.Select(p => (Tensor)p.Item2).ToList(), 0);
        Assert.Equal(0.0, MaxDiff(fused, expected));
        using (var stateSeparate = optSeparate.StateDict())
        using (var stateFused = optFused.StateDict())
            Assert.Equal(0.0, MaxDiff(stateFused["muon.momentum.Wqkv.weight"],
                cat(new[] { "q", "k", "v" }.Select(n => stateSeparate[$"muon.momentum.{n}.weight"]).ToList(), 0)));
        Assert.True(MaxDiff(whole, expected) > 1e-4, "orthogonalising the fused matrix as one should differ, or the test proves nothing");
        Assert.Throws<ArgumentException>(() => new MuonWithAuxAdam(([new NamedParameter("bad", whole) { RowBlocks = [16, 4] }], [])));
        foreach (var (_, p) in separate) p.Dispose();
        fused.Dispose(); whole.Dispose();
    }

    [Fact]
    public void APlainModelGivesMuonItsFusedMatricesAsHfsSeparateOnes()
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel("llama3-tiny"));   // 4 heads, 1 KV head, hd 8, FFN 96
        var (muon, _) = model.ParameterGroups();
        Assert.Equal([32L, 8, 8], muon.Single(p => p.Name == "model.layers.0.attn.Wqkv.weight").RowBlocks);
        Assert.Equal([96L, 96], muon.Single(p => p.Name == "model.layers.3.mlp.fc.weight").RowBlocks);
        Assert.Null(muon.Single(p => p.Name == "model.layers.0.attn.proj.weight").RowBlocks);
        using var recurrent = DeepenModel.Load(TestPaths.FixtureModel("converted-llama3-tiny"));
        Assert.All(recurrent.ParameterGroups().Muon, p => Assert.Null(p.RowBlocks));   // the authors' code orthogonalises the fused matrices whole
    }

    [Fact]
    public void OnARecurrentModelMuonGetsExactlyTheHiddenMatricesAndTheAdapter()
    {
        using var model = Deepen.Checkpoints.RecurrentCheckpoint.Load(TestPaths.FixtureModel("converted-olmo2-tiny"));
        var (muon, adam) = ParameterGrouping.Split(model.named_parameters().Select(p => (p.name, p.parameter)));
        var expectedMuon = model.named_parameters().Select(p => p.name)
            .Where(n => n.EndsWith("attn.Wqkv.weight") || n.EndsWith("attn.proj.weight") || n.EndsWith("mlp.fc.weight") || n.EndsWith("mlp.proj.weight") || n == "transformer.adapter.weight")
            .Order().ToList();
        Assert.Equal(expectedMuon, muon.Select(p => p.Name).Order().ToList());
        Assert.Contains("transformer.adapter.weight", muon.Select(p => p.Name));
        Assert.All(adam, p => Assert.True(p.Name.Contains("norm") || p.Name.Contains("wte") || p.Name.Contains("lm_head") || p.Name.Contains("ln_f"), p.Name));
        Assert.Contains(adam, p => p.Name.EndsWith("attn.q_norm.weight"));   // OLMo's QK-norms are norms → AdamW
        Assert.Equal(model.named_parameters().Count(), muon.Count + adam.Count);
    }
}
