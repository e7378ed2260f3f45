using Deepen.Data;
using Deepen.Modeling;
using Deepen.Torch;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Training;

/// <summary>Mean next-token loss over <see cref="Tokens"/> held-out tokens.</summary>
public sealed record HeldOutLoss(double Loss, long Tokens);

/// <summary>
/// Held-out loss at each of a list of recurrences (the paper's loss-over-recurrence evaluation): the
/// first <c>batches</c> micro-batches of the held-out shards in a fixed order, every iteration without
/// gradient, the initial-state noise seeded so repeated validations are comparable. With an answer mask
/// (<c>loss_on: answer</c>) the mean is over the answer tokens only, as in training.
/// </summary>
public static class Validation
{
    /// <returns>recurrence → mean next-token loss and the tokens it averages over (a plain model reports one value under recurrence 1).</returns>
    public static SortedDictionary<int, HeldOutLoss> Run(DeepenModel model, IReadOnlyList<string> valShards, IReadOnlyList<int> recurrences,
        int batchSize, int batches, long seed, string? fingerprint, ScalarType? matmulDType, AnswerLossMask? mask = null)
    {
        var result = new SortedDictionary<int, HeldOutLoss>();
        long rows = valShards.Sum(p => { using var shard = TokenShard.Open(p, fingerprint); return shard.RowCount; });
        if (rows == 0) return result;
        batchSize = (int)Math.Min(batchSize, rows);   // a small held-out split is still evaluated whole
        var rs = model.Recurrences(recurrences);
        bool wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var noGrad = no_grad();
            using var precision = MixedPrecision.Use(matmulDType);
            foreach (var r in rs)
            {
                using var loader = new TokenShardLoader(valShards, new TokenShardLoaderOptions
                {
                    BatchSize = batchSize, Seed = seed, OnEnd = DataEndAction.Stop, ExpectedFingerprint = fingerprint, Log = _ => { },
                });
                double sum = 0; long tokens = 0; int done = 0;
                while ((batches <= 0 || done < batches) && loader.TryNext(out var batch))
                {
                    if (done > 0) NativeGarbage.Collect();                   // the previous batch's dead TorchSharp scalars
                    using var scope = NewDisposeScope();
                    using var b = batch.To(model.Device);                   // made on the host, used where the weights are
                    using var gen = new Generator((ulong)(seed * 7919 + done));
                    var (labels, counted) = mask?.Apply(b.Inputs, b.Labels) ?? (b.Labels, b.Labels.numel());   // (B, T)
                    if (mask is not null && counted == 0) { done++; continue; }
                    var (answerRows, kept) = mask is null ? (null, labels.reshape(-1)) : AnswerLossMask.KeptRows(labels);  // the answers alone: (N,) ×2
                    var logits = model.Logits(b.Inputs, new RecurrenceDraw(r, 0), gen, rows: answerRows);                  // (B, T, V) or (N, V)
                    var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]).to_type(ScalarType.Float32), kept, reduction: nn.Reduction.Sum);
                    sum += loss.item<float>();
                    tokens += counted;
                    done++;
                }
                if (tokens > 0) result[r] = new HeldOutLoss(sum / tokens, tokens);
            }
        }
        finally
        {
            if (wasTraining) model.Module.train();
        }
        return result;
    }
}
