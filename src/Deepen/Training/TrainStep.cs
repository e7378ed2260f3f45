using Deepen.Modeling;
using TorchSharp;
using static TorchSharp.torch;
using Deepen.Torch;
using Deepen.Models;

namespace Deepen.Training;

/// <summary>
/// The arithmetic of one optimizer step, shared by <see cref="Trainer"/> and the training benchmark so that the bench
/// measures exactly what the trainer runs: per micro-batch a forward with its recurrence draw, the float32
/// cross-entropy over the kept labels and the backward of loss / accumulation; then one global-norm clip, one
/// optimizer step and zeroed gradients.
/// </summary>
public static class TrainStep
{
    /// <summary>
    /// One micro-batch: forward, loss, backward (gradients accumulate into the parameters). <paramref name="mask"/>
    /// (<c>loss_on: answer</c>) keeps only answer labels; with none in view the loss is 0 with no signal, not NaN.
    /// <paramref name="afterForward"/> runs between the loss and the backward (the bench's timer). Returns the
    /// micro-batch's loss and its kept labels (−1 = every label counts).
    /// </summary>
    public static (double Loss, long Answers) MicroBatch(DeepenModel model, Tensor inputs, Tensor labels, RecurrenceDraw draw,
        Generator noise, NoiseShard? shard, int accumulation, AnswerLossMask? mask, Action? afterForward = null)
    {
        var (loss, answers) = MicroBatchOnDevice(model, inputs, labels, draw, noise, shard, accumulation, mask, afterForward);
        using (loss) return (loss.item<double>(), answers);
    }

    /// <summary>
    /// <see cref="MicroBatch"/> with the loss left where it was computed: a 0-dim float64 tensor (the float32 loss,
    /// widened exactly) in the caller's dispose scope, so the trainer sums a step's micro-batches on the device and
    /// reads the sum once, instead of waiting for the device after every micro-batch.
    /// </summary>
    public static (Tensor Loss, long Answers) MicroBatchOnDevice(DeepenModel model, Tensor inputs, Tensor labels, RecurrenceDraw draw,
        Generator noise, NoiseShard? shard, int accumulation, AnswerLossMask? mask, Action? afterForward = null)
    {
        using var scope = NewDisposeScope();
        var (kept, answers) = mask?.Apply(inputs, labels) ?? (labels, -1L);                         // (B, T)
        Tensor loss;
        if (answers == 0)
            loss = model.Logits(inputs, draw, noise, shard).sum().Times(0.0);                             // no answer in view: no signal, not NaN
        else
        {
            // with a mask, only the answer positions' logits: the head and its softmax run on N rows, not B·T
            var (rows, target) = mask is null ? (null, kept.reshape(-1)) : AnswerLossMask.KeptRows(kept);  // (N,) ×2, or (B·T,)
            var logits = model.Logits(inputs, draw, noise, shard, rows);                                  // (N, V) or (B, T, V)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]).to_type(ScalarType.Float32), target);
        }
        afterForward?.Invoke();
        loss.DividedBy(accumulation).backward();
        return (loss.detach().to_type(ScalarType.Float64).MoveToOuterDisposeScope(), answers);
    }

    /// <summary>Clips the accumulated gradients to <paramref name="gradClip"/> (global norm), steps at
    /// <paramref name="lrMultiplier"/> × the peak rates and zeroes the gradients; returns the norm before clipping.</summary>
    public static double Apply(DeepenModel model, ITrainingOptimizer optimizer, double gradClip, double lrMultiplier)
    {
        double norm = GradientClipping.ClipGlobalNorm(model.Module.parameters(), gradClip);
        optimizer.Step(lrMultiplier);
        optimizer.ZeroGrad();
        return norm;
    }
}
