using System.Diagnostics;
using Deepen.Training;
using Deepen.Models;

namespace Deepen.Evaluation;

/// <summary>
/// The <c>loss</c> task: mean next-token loss on held-out token shards at each recurrence (the paper's
/// loss-over-recurrence evaluation, method.md §8), as sweep points that share the report of the other tasks.
/// </summary>
public static class LossEvaluation
{
    public const string TaskName = "loss";
    public static readonly int[] DefaultRecurrences = [1, 2, 4, 8, 16, 32, 64];

    /// <param name="batches">micro-batches of <paramref name="batchSize"/> rows per recurrence; 0 = all rows.</param>
    public static IReadOnlyList<SweepPoint> Run(DeepenModel model, IReadOnlyList<string> shards, IReadOnlyList<int> recurrences,
        int batchSize, int batches, long seed = 74, string? fingerprint = null)
    {
        var points = new List<SweepPoint>();
        foreach (var r in model.Recurrences(recurrences))
        {
            var sw = Stopwatch.StartNew();
            var result = Validation.Run(model, shards, [r], batchSize, batches, seed, fingerprint, matmulDType: null);
            if (result.Count == 0) throw new DeepenException($"{string.Join(", ", shards)}: no held-out rows to evaluate.");
            var held = result.Values.Single();
            points.Add(new SweepPoint(TaskName, "loss", r, held.Loss, null, held.Tokens, sw.Elapsed.TotalSeconds, 0));
        }
        return points;
    }
}
