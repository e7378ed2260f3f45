using static TorchSharp.torch;
using Deepen.Torch;
using Deepen.Models;

namespace Deepen.Training;

/// <summary>AdamW settings (method.md §6.1 "AdamW-only runs"): lr 5e-5, betas (0.9, 0.95), eps 1e-8, weight decay 1e-4.</summary>
public sealed record AdamWSettings(double Lr = 5e-5, double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 1e-4);

/// <summary>
/// Plain AdamW on every parameter with <c>torch.optim.AdamW</c>'s semantics (single-tensor path):
/// <c>W ← W(1 − lr·wd)</c>; <c>m ← β1 m + (1−β1) g</c>; <c>v ← β2 v + (1−β2) g²</c>;
/// <c>W ← W − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)</c>, with a step counter t per parameter.
/// Parameters without a gradient are skipped (no decay, no step), as in PyTorch.
/// State names: <c>adamw.m.&lt;param&gt;</c>, <c>adamw.v.&lt;param&gt;</c>, <c>adamw.step.&lt;param&gt;</c>, <c>adamw.step</c>.
/// </summary>
public sealed class AdamWOptimizer : ITrainingOptimizer
{
    private sealed class Slot(NamedParameter p, Tensor m, Tensor v)
    {
        public NamedParameter P { get; } = p;
        public Tensor M { get; } = m;
        public Tensor V { get; } = v;
        public long Step { get; set; }
    }

    private readonly List<Slot> _slots = [];

    public AdamWSettings Settings { get; }
    public IReadOnlyList<NamedParameter> Parameters { get; }
    public long StepCount { get; private set; }

    /// <summary>Every trainable parameter of <paramref name="parameters"/>, in the given order.</summary>
    public AdamWOptimizer(IEnumerable<(string name, TorchSharp.Modules.Parameter parameter)> parameters, AdamWSettings? settings = null)
    {
        Settings = settings ?? new AdamWSettings();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, p) in parameters)
        {
            if (!p.requires_grad) continue;
            if (!names.Add(name)) throw new ArgumentException($"parameter '{name}' appears twice", nameof(parameters));
            _slots.Add(new Slot(new NamedParameter(name, p), zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope()));
        }
        Parameters = _slots.Select(s => s.P).ToList();
    }

    public void Step(double lrMultiplier)
    {
        using var noGrad = no_grad();
        double lr = Settings.Lr * lrMultiplier, b1 = Settings.Beta1, b2 = Settings.Beta2;
        foreach (var slot in _slots)
        {
            using var scope = NewDisposeScope();                  // before .grad: each access makes a tensor handle
            var w = slot.P.Parameter;
            if (w.grad is not { } g) continue;
            slot.Step++;
            w.TimesInPlace(1 - lr * Settings.WeightDecay);
            slot.M.TimesInPlace(b1).PlusScaledInPlace(g, 1 - b1);
            slot.V.TimesInPlace(b2).AddProductInPlace(g, g, 1 - b2);
            double bc1 = 1 - Math.Pow(b1, slot.Step), bc2 = 1 - Math.Pow(b2, slot.Step);
            var denom = slot.V.sqrt().DividedBy(Math.Sqrt(bc2)).PlusNumberInPlace(Settings.Eps);
            w.AddQuotientInPlace(slot.M, denom, -(lr / bc1));
        }
        StepCount++;
    }

    public void ZeroGrad() => GradientClipping.ClearGradients(Parameters);

    public OptimizerStateDict StateDict()
    {
        var state = new OptimizerStateDict();
        foreach (var s in _slots)
        {
            state.Add("adamw.m." + s.P.Name, s.M.detach().clone().DetachFromDisposeScope());
            state.Add("adamw.v." + s.P.Name, s.V.detach().clone().DetachFromDisposeScope());
            state.Add("adamw.step." + s.P.Name, OptimizerStateDict.Counter(s.Step).DetachFromDisposeScope());
        }
        state.Add("adamw.step", OptimizerStateDict.Counter(StepCount).DetachFromDisposeScope());
        return state;
    }

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var expected = new List<string> { "adamw.step" };
        foreach (var s in _slots) expected.AddRange(["adamw.m." + s.P.Name, "adamw.v." + s.P.Name, "adamw.step." + s.P.Name]);
        OptimizerStateDict.RejectUnknown(state, expected);
        long step = OptimizerStateDict.ReadCounter(state, "adamw.step");
        var steps = _slots.Select(s => OptimizerStateDict.ReadCounter(state, "adamw.step." + s.P.Name)).ToList();
        foreach (var s in _slots)
        {
            OptimizerStateDict.CopyInto(state, "adamw.m." + s.P.Name, s.M);
            OptimizerStateDict.CopyInto(state, "adamw.v." + s.P.Name, s.V);
        }
        for (int i = 0; i < _slots.Count; i++) _slots[i].Step = steps[i];
        StepCount = step;
    }

    public void Dispose()
    {
        foreach (var s in _slots) { s.M.Dispose(); s.V.Dispose(); }
        _slots.Clear();
    }
}
