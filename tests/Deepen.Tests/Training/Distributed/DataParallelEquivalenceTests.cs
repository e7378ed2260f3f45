using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Training;
using static TorchSharp.torch;

namespace Deepen.Tests.Training.Distributed;

/// <summary>
/// Data parallelism changes where the gradient of a global batch is computed, not what it is: W ranks with
/// B rows each must train as one process with the same W·B rows, up to the order of float32 additions
/// (the all-reduce sums per-rank means; one process averages over a larger batch in one matmul).
/// <para>
/// The recurrence draw belongs to a micro-batch (seeded by its index, shared by all ranks, as in the
/// reference implementation), so the one-process run that matches 2 ranks × B × (accumulation A) is
/// 1 rank × 2B × A: the same draws and the same rows per micro-batch, and — because the initial-state noise
/// is drawn for all ranks' rows and sharded like the data — the same noise per sequence. One process with
/// accumulation 2A would make two draws where the ranks make one; for a plain model, which has no draws,
/// 2 ranks × B × 1 equals 1 rank × B × 2 (gradient accumulation), which the second test shows.
/// </para>
/// <para>
/// Both use AdamW. Muon orthogonalises in bfloat16 (as the reference does), which rounds float32 differences
/// of 1e-7 to whole bfloat16 steps (4e-3 relative) in an update now and then; with it the two runs still
/// agree to about 1e-3 in loss after 20 steps, but that measures Muon's rounding, not the all-reduce.
/// </para>
/// </summary>
[Collection(MpiCollection.Name)]
public class DataParallelEquivalenceTests
{
    /// <summary>
    /// Relative difference allowed in a step's loss and gradient norm: float32 sums in another order. Measured:
    /// at most 3e-6 (recurrent) and 2e-7 (plain) over the 20 steps.
    /// </summary>
    private const double LossTolerance = 2e-5;

    /// <summary>Largest absolute difference allowed in any final weight (weights are O(0.1)). Measured: 7e-7 and 4e-7.</summary>
    private const double WeightTolerance = 1e-5;

    [MpiFact]
    public void TwoRanksTrainAsOneProcessWithTheirRowsTogether()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var common = TinyTrainingRun.Config(data, "", 20) with { Optimizer = OptimizerKind.AdamW, GradAccumSteps = 2, EvalEvery = 10, Threads = 1 };

        var (code, output) = MpiJob.Run(2, "train", "--config", MpiJob.WriteConfig(common with { Out = tmp["ranks"], MicroBatchSize = 2 }, tmp.Path, "ranks"));
        Assert.True(code == 0, output);
        Trainer.Run(common with { Out = tmp["one"], MicroBatchSize = 4 }, new TrainRunOptions { Log = _ => { } });

        // Validation batches are micro_batch_size rows, which differ here; the final weights are compared instead.
        AssertEquivalent(tmp["one"], tmp["ranks"], exact: ["tokens", "n_no_grad", "k_grad", "draws", "mean_recurrence", "lr"], compareValidation: false);
    }

    [MpiFact]
    public void TwoRanksTrainAPlainModelAsOneProcessAccumulatingTheirMicroBatches()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var common = TinyTrainingRun.Config(data, "", 20) with
        {
            Model = TestPaths.FixtureModel("llama-tiny"), Optimizer = OptimizerKind.AdamW, Curriculum = CurriculumShape.None, MicroBatchSize = 2, EvalEvery = 10, Threads = 1,
        };

        var (code, output) = MpiJob.Run(2, "train", "--config", MpiJob.WriteConfig(common with { Out = tmp["ranks"], GradAccumSteps = 1 }, tmp.Path, "ranks"));
        Assert.True(code == 0, output);
        Trainer.Run(common with { Out = tmp["one"], GradAccumSteps = 2 }, new TrainRunOptions { Log = _ => { } });

        AssertEquivalent(tmp["one"], tmp["ranks"], exact: ["tokens", "lr"], compareValidation: true);
    }

    private static void AssertEquivalent(string oneRun, string ranksRun, string[] exact, bool compareValidation)
    {
        var one = MetricsLog.Read(Path.Combine(oneRun, MetricsLog.FileName));
        var ranks = MetricsLog.Read(Path.Combine(ranksRun, MetricsLog.FileName));
        Assert.Equal(one.Select(Key), ranks.Select(Key));   // the same rows: 20 steps and 3 validations, each once
        for (int i = 0; i < one.Count; i++)
        {
            var (a, b) = (one[i], ranks[i]);
            if (a["kind"] is not null && !compareValidation) continue;
            foreach (var key in exact.Where(a.ContainsKey))
                Assert.True(JsonNode.DeepEquals(a[key], b[key]), $"{Key(a)} '{key}': {a[key]} vs {b[key]}");
            foreach (var key in a.Select(kv => kv.Key).Where(k => k is "loss" or "grad_norm" || k.StartsWith("val_loss", StringComparison.Ordinal)))
            {
                double x = a[key]!.GetValue<double>(), y = b[key]!.GetValue<double>();
                Assert.True(Math.Abs(x - y) <= LossTolerance * Math.Abs(x), $"{Key(a)} '{key}': {x:R} (one process) vs {y:R} (2 ranks)");
            }
        }
        using var wa = SafetensorsFile.Open(Path.Combine(oneRun, "final", TensorStore.SingleFile));
        using var wb = SafetensorsFile.Open(Path.Combine(ranksRun, "final", TensorStore.SingleFile));
        double worst = 0;
        foreach (var name in wa.Entries.Keys)
        {
            using var scope = NewDisposeScope();
            var x = wa.Read(name, ScalarType.Float32);
            var y = wb.Read(name, ScalarType.Float32);
            worst = Math.Max(worst, (x - y).abs().max().item<float>());
        }
        Assert.True(worst <= WeightTolerance, $"final weights differ by up to {worst:E2}");
    }

    private static string Key(JsonObject row) => $"{row["kind"]?.GetValue<string>() ?? "step"} {row["step"]}";
}
