using Deepen.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Conversion;

/// <summary>
/// The conversion check of method.md §2.4: with the adapter bypassed (core input = prelude output), a
/// zero initial state and one recurrence, the converted model must compute the logits of the pruned
/// source model (the plan's layers in order), in float32.
/// </summary>
public static class EquivalenceCheck
{
    /// <param name="storedDType">the converted model's stored dtype; the source weights are rounded to it so both sides hold identical values.</param>
    /// <param name="device">where both models run (null: the CPU); the token ids are drawn on the CPU, so every device checks the same input.</param>
    public static double MaxLogitDiff(string sourceDir, string convertedDir, LayerPlan plan, ScalarType storedDType, int tokens = 16, long seed = 0, Device? device = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor ids, reference;
        using (var source = HfModel.Load(sourceDir, storedDType, device))
        {
            if (storedDType != ScalarType.Float32) source.to(ScalarType.Float32);
            using var gen = new Generator((ulong)seed);
            ids = randint(0, source.Config.VocabSize, [1, Math.Min(tokens, source.Config.MaxPositionEmbeddings)], dtype: ScalarType.Int64, generator: gen).to(device ?? CPU);
            reference = source.ForwardLayers(ids, plan.All);                                           // (1, T, V)
        }
        using var converted = RecurrentCheckpoint.Load(convertedDir, ScalarType.Float32, device);
        var logits = converted.forward(ids, new Modeling.RecurrenceOptions(1, State: Modeling.StateInit.Zeros) { BypassAdapter = true });
        return (logits - reference).abs().max().item<float>();
    }
}
