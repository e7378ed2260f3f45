using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using Deepen.Training;
using Deepen.Models;

namespace Deepen.Tests.Training;

public class TrainerTests
{
    private static readonly Action<string> Quiet = _ => { };

    [Fact]
    public void TrainingLowersHeldOutLossAndWritesTheRunDirectory()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var config = TinyTrainingRun.Config(data, tmp["run"], 30) with { EvalEvery = 10 };
        var result = Trainer.Run(config, new TrainRunOptions { Log = Quiet });
        Assert.False(result.Stopped, result.Reason);
        var rows = MetricsLog.Read(Path.Combine(tmp["run"], MetricsLog.FileName));
        var steps = rows.Where(r => r["kind"] is null).ToList();
        Assert.Equal(30, steps.Count);
        Assert.Equal(Enumerable.Range(1, 30), steps.Select(r => r["step"]!.GetValue<int>()));
        foreach (var key in new[] { "tokens", "lr", "loss", "grad_norm", "n_no_grad", "k_grad", "mean_recurrence", "tokens_per_s", "train_flops", "peak_rss_mb" })
            Assert.True(steps[0].ContainsKey(key), $"metrics row lacks '{key}'");
        var vals = rows.Where(r => r["kind"]?.GetValue<string>() == "validation").ToList();
        Assert.Equal([0, 10, 20, 30], vals.Select(v => v["step"]!.GetValue<int>()));   // step 0: before training
        double first = vals[0]["val_loss_r4"]!.GetValue<double>(), last = vals[^1]["val_loss_r4"]!.GetValue<double>();
        Assert.True(last < first - 0.3, $"held-out loss went from {first:F3} to {last:F3}");
        // The curriculum ramps r̄ linearly to 4 over half the run, never decreasing.
        var means = steps.Select(r => r["mean_recurrence"]!.GetValue<int>()).ToList();
        Assert.Equal(1, means[0]);
        Assert.Equal(4, means[^1]);
        Assert.True(means.Zip(means.Skip(1)).All(p => p.Second >= p.First));
        // The final model loads as a recurrent model.
        using var final = RecurrentCheckpoint.Load(result.FinalDir);
        Assert.True(File.Exists(Path.Combine(tmp["run"], "config.yaml")));
    }

    [Fact]
    public void ResumeContinuesTheSameTrajectory()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var straight = TinyTrainingRun.Config(data, tmp["straight"], 12);
        Trainer.Run(straight, new TrainRunOptions { Log = Quiet });

        var split = TinyTrainingRun.Config(data, tmp["split"], 12) with { SaveEvery = 6 };
        // First half: stop after step 6 by cancelling (the checkpoint is written at step 6 anyway).
        using var cts = new CancellationTokenSource();
        var first = Trainer.Run(split, new TrainRunOptions { Log = line => { if (line.StartsWith("step 6/")) cts.Cancel(); }, Cancel = cts.Token });
        Assert.True(first.Stopped);
        Assert.Equal(6, first.StepsDone);
        Trainer.Run(split, new TrainRunOptions { Log = Quiet, Resume = "auto" });

        AssertSameTrajectory(tmp["straight"], tmp["split"], 7, 12);
    }

    internal static void AssertSameTrajectory(string runA, string runB, int fromStep, int toStep)
    {
        var a = MetricsLog.Read(Path.Combine(runA, MetricsLog.FileName)).Where(r => r["kind"] is null).ToDictionary(r => r["step"]!.GetValue<int>());
        var b = MetricsLog.Read(Path.Combine(runB, MetricsLog.FileName)).Where(r => r["kind"] is null).ToDictionary(r => r["step"]!.GetValue<int>());
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        for (int s = fromStep; s <= toStep; s++)
            foreach (var key in new[] { "loss", "n_no_grad", "k_grad", "lr", "grad_norm", "tokens" })
                Assert.True(JsonNode.DeepEquals(a[s][key], b[s][key]), $"step {s} '{key}': {a[s][key]} vs {b[s][key]}");
        var wa = File.ReadAllBytes(Path.Combine(runA, "final", "model.safetensors"));
        var wb = File.ReadAllBytes(Path.Combine(runB, "final", "model.safetensors"));
        Assert.Equal(wa, wb);
    }
}

public class BaselineTrainingTests
{
    [Fact]
    public void PlainModelTrainsAsTheNonRecurrentBaseline()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var config = TinyTrainingRun.Config(data, tmp["run"], 20) with
        {
            Model = TestPaths.FixtureModel("llama-tiny"), Curriculum = CurriculumShape.None, EvalEvery = 10,
        };
        var result = Trainer.Run(config, new TrainRunOptions { Log = _ => { } });
        Assert.False(result.Stopped, result.Reason);
        var rows = MetricsLog.Read(Path.Combine(tmp["run"], MetricsLog.FileName));
        var steps = rows.Where(r => r["kind"] is null).ToList();
        Assert.All(steps, r => Assert.Equal(1, r["mean_recurrence"]!.GetValue<int>()));
        // FLOPs of a static model: 6 · N_nonemb per token.
        using var model = DeepenModel.Load(TestPaths.FixtureModel("llama-tiny"));
        long nonEmb = model.Module.parameters().Sum(p => p.numel()) - 2L * 96 * 64;
        Assert.Equal(6.0 * nonEmb * steps[0]["tokens"]!.GetValue<long>(), steps[0]["train_flops"]!.GetValue<double>(), 1);
        var vals = rows.Where(r => r["kind"] is not null).ToList();
        Assert.True(vals[^1]["val_loss"]!.GetValue<double>() < vals[0]["val_loss"]!.GetValue<double>());
        using var final = Deepen.Checkpoints.HfModel.Load(result.FinalDir);   // saved in HF layout
    }

    [Fact]
    public void APlainModelResumesExactlyAndItsOptimizerStateIsNamedAsItsWeights()
    {
        // The plain model's fused Wqkv/fc are saved as HF's q/k/v and gate/up, weights and optimizer moments alike, so
        // a checkpoint's optimizer file lines up with its weights (and with files written before the layers were fused).
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        TrainConfig Plain(string run) => TinyTrainingRun.Config(data, run, 8) with { Model = TestPaths.FixtureModel("llama3-tiny"), Curriculum = CurriculumShape.None };
        Trainer.Run(Plain(tmp["straight"]), new TrainRunOptions { Log = _ => { } });
        using var cts = new CancellationTokenSource();
        var split = Plain(tmp["split"]) with { SaveEvery = 4 };
        var first = Trainer.Run(split, new TrainRunOptions { Log = line => { if (line.StartsWith("step 4/")) cts.Cancel(); }, Cancel = cts.Token });
        Assert.Equal(4, first.StepsDone);
        var checkpoint = new CheckpointManager(tmp["split"], 1).Complete().Single();
        using (var optimizer = Deepen.Checkpoints.SafetensorsFile.Open(Path.Combine(checkpoint, CheckpointManager.OptimizerFile)))
        {
            Assert.Contains("muon.momentum.model.layers.0.self_attn.k_proj.weight", optimizer.Entries.Keys);   // 1 KV head: its own block
            Assert.Contains("adam.m.model.layers.0.input_layernorm.weight", optimizer.Entries.Keys);
            Assert.DoesNotContain(optimizer.Entries.Keys, k => k.Contains("Wqkv") || k.Contains(".fc.") || k.Contains("norm_1"));
            using var weights = TensorStore.Open(checkpoint);
            foreach (var key in optimizer.Entries.Keys.Where(k => k.StartsWith("muon.momentum.")))
                Assert.Equal(weights.Entry(key["muon.momentum.".Length..]).Shape, optimizer.Entries[key].Shape);
        }
        Trainer.Run(split, new TrainRunOptions { Log = _ => { }, Resume = "auto" });
        TrainerTests.AssertSameTrajectory(tmp["straight"], tmp["split"], 5, 8);
    }
}
