using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Training;

/// <summary>An optimizer the trainer drives: one step per optimizer step with the schedule's multiplier,
/// and a state that round-trips through a safetensors file for exact resume.</summary>
public interface ITrainingOptimizer : IDisposable
{
    /// <summary>Every parameter this optimizer updates.</summary>
    IReadOnlyList<NamedParameter> Parameters { get; }

    /// <summary>Optimizer steps taken so far.</summary>
    long StepCount { get; }

    /// <summary>Updates every parameter with each group's base learning rate times <paramref name="lrMultiplier"/>
    /// (the same multiplier for every group, weight decay included). A parameter without a gradient is
    /// handled as the reference does: Muon and its aux Adam treat it as a zero gradient, AdamW skips it.</summary>
    void Step(double lrMultiplier);

    /// <summary>Clears the gradients (sets them to none).</summary>
    void ZeroGrad();

    /// <summary>A copy of the state: buffers by name plus step counters as int64 scalars. The caller disposes it.</summary>
    OptimizerStateDict StateDict();

    /// <summary>Restores a state written by <see cref="StateDict"/>; every expected entry must be present with its shape.</summary>
    void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);
}
