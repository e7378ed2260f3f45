using static TorchSharp.torch;
using Deepen.Torch;
using Deepen.Models;

namespace Deepen.Training;

/// <summary>Muon group settings (method.md §6.1): lr 1e-3, momentum 0.95 (Nesterov), weight decay 1e-4, 5 NS steps,
/// the Newton–Schulz polynomial in its fused form (<see cref="NewtonSchulzForm"/>). <paramref name="NsStackElements"/>
/// bounds how many numbers one Newton–Schulz stack of same-shape matrices holds (at least one matrix): stacking makes
/// small matrices fast, the bound keeps the temporaries of large ones small. It does not change the result.</summary>
public sealed record MuonSettings(double Lr = 1e-3, double Momentum = 0.95, double WeightDecay = 1e-4, int NsSteps = 5,
    NewtonSchulzForm NsForm = NewtonSchulzForm.Fused, long NsStackElements = 1L << 22);

/// <summary>Aux-Adam group settings (method.md §6.1): lr 5e-5, betas (0.9, 0.95), eps 1e-10 (the Muon package's
/// default), weight decay 1e-4.</summary>
public sealed record AdamSettings(double Lr = 5e-5, double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-10, double WeightDecay = 1e-4);

/// <summary>
/// Single-process Muon for the hidden matrices plus an auxiliary Adam for embeddings, head, norms and
/// biases ([M] <c>MuonWithAuxAdam</c>; grouping by <see cref="ParameterGrouping"/>). Per Muon matrix W with
/// gradient G: <c>m ← lerp(m, G, 1−β)</c>, <c>u = lerp(G, m, β)</c> (Nesterov), <c>O = NS5(u)·√max(1, rows/cols)</c>
/// in bf16, <c>W ← W(1 − lr·wd)</c>, <c>W ← W − lr·O</c>, where a parameter with row blocks
/// (<see cref="NamedParameter.RowBlocks"/>) is one matrix W per block; matrices of one shape go through Newton–Schulz as one
/// stack (the same numbers as one at a time, in far fewer and larger products). Per Adam tensor: <c>m ← lerp(m, g, 1−β1)</c>,
/// <c>v ← lerp(v, g², 1−β2)</c>, bias correction, <c>W ← W(1 − lr·wd) − lr·m̂/(√v̂ + eps)</c>.
/// State names: <c>muon.momentum.&lt;param&gt;</c>, <c>adam.m.&lt;param&gt;</c>, <c>adam.v.&lt;param&gt;</c>,
/// <c>adam.step</c>, <c>muon.step</c>.
/// </summary>
public sealed class MuonWithAuxAdam : ITrainingOptimizer
{
    private sealed record MuonSlot(NamedParameter P, Tensor Momentum);
    /// <summary>One matrix Muon orthogonalises: a whole parameter, or rows [Row, Row + Rows) of one (<see cref="NamedParameter.RowBlocks"/>).</summary>
    private sealed record MuonMatrix(MuonSlot Slot, long Row, long Rows)
    {
        public long Cols => Slot.P.Parameter.shape[1];
        private bool Whole => Rows == Slot.P.Parameter.shape[0];
        public Tensor Of(Tensor t) => Whole ? t : t.narrow(0, Row, Rows);   // (Rows, Cols): the parameter's, its gradient's or its momentum's block
    }
    private sealed record AdamSlot(NamedParameter P, Tensor M, Tensor V);

    private readonly List<MuonSlot> _muon = [];
    private readonly List<MuonMatrix[]> _muonByShape = [];   // the Muon matrices grouped by (rows, cols), first-seen order
    private readonly List<AdamSlot> _adam = [];
    private long _adamStep;

    public MuonSettings Muon { get; }
    public AdamSettings Adam { get; }
    public IReadOnlyList<NamedParameter> Parameters { get; }
    public long StepCount { get; private set; }

    /// <summary>Groups <paramref name="parameters"/> (e.g. <c>module.named_parameters()</c>) by <see cref="ParameterGrouping"/>.</summary>
    public MuonWithAuxAdam(IEnumerable<(string name, TorchSharp.Modules.Parameter parameter)> parameters, MuonSettings? muon = null, AdamSettings? adam = null)
        : this(ParameterGrouping.Split(parameters), muon, adam) { }

    /// <summary>Uses the given groups as they are (the Muon group must hold only 2-D parameters).</summary>
    public MuonWithAuxAdam((IReadOnlyList<NamedParameter> Muon, IReadOnlyList<NamedParameter> Adam) groups, MuonSettings? muon = null, AdamSettings? adam = null)
    {
        Muon = muon ?? new MuonSettings();
        Adam = adam ?? new AdamSettings();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in groups.Muon.Concat(groups.Adam))
            if (!names.Add(p.Name)) throw new ArgumentException($"parameter '{p.Name}' appears twice", nameof(groups));
        foreach (var p in groups.Muon)
        {
            if (p.Parameter.dim() != 2)
                throw new ArgumentException($"Muon takes only 2-D matrices; '{p.Name}' has shape [{string.Join(", ", p.Parameter.shape)}]", nameof(groups));
            if (p.RowBlocks is { } blocks && (blocks.Any(r => r <= 0) || blocks.Sum() != p.Parameter.shape[0]))
                throw new ArgumentException($"row blocks [{string.Join(", ", blocks)}] of '{p.Name}' do not add up to its {p.Parameter.shape[0]} rows", nameof(groups));
            _muon.Add(new MuonSlot(p, zeros_like(p.Parameter).DetachFromDisposeScope()));
        }
        var matrices = _muon.SelectMany(s =>
        {
            long row = 0;
            return (s.P.RowBlocks ?? [s.P.Parameter.shape[0]]).Select(rows => new MuonMatrix(s, (row += rows) - rows, rows)).ToList();
        });
        foreach (var sameShape in matrices.GroupBy(m => (m.Rows, m.Cols)))
        {
            long perMatrix = sameShape.Key.Item1 * sameShape.Key.Item2;
            int perStack = (int)Math.Clamp(Muon.NsStackElements / perMatrix, 1, int.MaxValue);
            _muonByShape.AddRange(sameShape.Chunk(perStack));
        }
        foreach (var p in groups.Adam)
            _adam.Add(new AdamSlot(p, zeros_like(p.Parameter).DetachFromDisposeScope(), zeros_like(p.Parameter).DetachFromDisposeScope()));
        Parameters = [.. groups.Muon, .. groups.Adam];
    }

    public void Step(double lrMultiplier)
    {
        using var noGrad = no_grad();
        double muonLr = Muon.Lr * lrMultiplier, adamLr = Adam.Lr * lrMultiplier;
        foreach (var stack in _muonByShape)
        {
            using var scope = NewDisposeScope();
            var (rows, cols) = (stack[0].Rows, stack[0].Cols);
            var updates = empty([stack.Length, rows, cols], dtype: ScalarType.BFloat16, device: stack[0].Slot.P.Parameter.device);   // (G, rows, cols)
            for (int i = 0; i < stack.Length; i++)
            {
                using var matrixScope = NewDisposeScope();                              // frees each float temporary at once
                var p = stack[i].Slot.P.Parameter;
                var g = stack[i].Of(p.grad is { } grad ? grad : zeros_like(p));         // (rows, cols)
                var m = stack[i].Of(stack[i].Slot.Momentum);
                m.lerp_(g, 1 - Muon.Momentum);   // the weight becomes a 0-dim tensor of this scope, not a Scalar                          // m ← β m + (1−β) g
                // Nesterov: (1−β) g + β m; Newton–Schulz starts by rounding to bf16, so it is stacked as bf16.
                updates[i].copy_(g.lerp(m, Muon.Momentum));
            }
            var o = NewtonSchulz.Orthogonalize(updates, Muon.NsSteps, Muon.NsForm);     // (G, rows, cols) bf16
            updates.Dispose();
            double scale = Math.Sqrt(Math.Max(1.0, (double)rows / cols));
            for (int i = 0; i < stack.Length; i++)
            {
                using var matrixScope = NewDisposeScope();
                var w = stack[i].Of(stack[i].Slot.P.Parameter);                              // (rows, cols)
                // Out of place on purpose: libtorch's in-place mul_(Scalar) rounds the scalar to bf16 first
                // (√3 → 1.734375), whereas PyTorch's `update *= s` multiplies in float with the exact scalar.
                var oi = scale == 1.0 ? o[i] : o[i].Times(scale);                            // (rows, cols) bf16
                w.TimesInPlace(1 - muonLr * Muon.WeightDecay);
                w.PlusScaledInPlace(oi, -muonLr);                                             // bf16 O, summed in w's dtype
            }
        }
        if (_adam.Count > 0)
        {
            _adamStep++;
            double bc1 = 1 - Math.Pow(Adam.Beta1, _adamStep), bc2 = 1 - Math.Pow(Adam.Beta2, _adamStep);
            foreach (var slot in _adam)
            {
                using var scope = NewDisposeScope();
                var w = slot.P.Parameter;
                var g = w.grad is { } grad ? grad : zeros_like(w);
                slot.M.lerp_(g, 1 - Adam.Beta1);
                slot.V.lerp_(g.square(), 1 - Adam.Beta2);
                var denominator = slot.V.DividedBy(bc2).sqrt_().PlusNumberInPlace(Adam.Eps);              // √v̂ + eps, in place on one temporary
                var update = slot.M.DividedBy(bc1).div_(denominator);                        // m̂ / (√v̂ + eps)
                w.TimesInPlace(1 - adamLr * Adam.WeightDecay);
                w.PlusScaledInPlace(update, -adamLr);
            }
        }
        StepCount++;
    }

    public void ZeroGrad() => GradientClipping.ClearGradients(Parameters);

    public OptimizerStateDict StateDict()
    {
        var state = new OptimizerStateDict();
        foreach (var s in _muon) state.Add("muon.momentum." + s.P.Name, s.Momentum.detach().clone().DetachFromDisposeScope());
        foreach (var s in _adam)
        {
            state.Add("adam.m." + s.P.Name, s.M.detach().clone().DetachFromDisposeScope());
            state.Add("adam.v." + s.P.Name, s.V.detach().clone().DetachFromDisposeScope());
        }
        state.Add("adam.step", OptimizerStateDict.Counter(_adamStep).DetachFromDisposeScope());
        state.Add("muon.step", OptimizerStateDict.Counter(StepCount).DetachFromDisposeScope());
        return state;
    }

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var expected = new List<string> { "adam.step", "muon.step" };
        foreach (var s in _muon) expected.Add("muon.momentum." + s.P.Name);
        foreach (var s in _adam) { expected.Add("adam.m." + s.P.Name); expected.Add("adam.v." + s.P.Name); }
        OptimizerStateDict.RejectUnknown(state, expected);
        long adamStep = OptimizerStateDict.ReadCounter(state, "adam.step");
        long step = OptimizerStateDict.ReadCounter(state, "muon.step");
        foreach (var s in _muon) OptimizerStateDict.CopyInto(state, "muon.momentum." + s.P.Name, s.Momentum);
        foreach (var s in _adam)
        {
            OptimizerStateDict.CopyInto(state, "adam.m." + s.P.Name, s.M);
            OptimizerStateDict.CopyInto(state, "adam.v." + s.P.Name, s.V);
        }
        (_adamStep, StepCount) = (adamStep, step);
    }

    public void Dispose()
    {
        foreach (var s in _muon) s.Momentum.Dispose();
        foreach (var s in _adam) { s.M.Dispose(); s.V.Dispose(); }
        _muon.Clear();
        _muonByShape.Clear();
        _adam.Clear();
    }
}
