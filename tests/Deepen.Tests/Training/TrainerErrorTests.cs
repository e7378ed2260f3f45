using Deepen.Training;

namespace Deepen.Tests.Training;

public class TrainerErrorTests
{
    private static readonly Action<string> Quiet = _ => { };

    [Fact]
    public void NanLossStopsAndKeepsTheLastGoodCheckpoint()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        // Step 1 runs at lr 1e30 · 1e-35 (the warmup's floor); the warmup then raises it to absurd values,
        // which drive the weights to inf and the loss to NaN a few steps later.
        var config = TinyTrainingRun.Config(data, tmp["run"], 40) with
        {
            SaveEvery = 1, KeepLast = 1, Optimizer = OptimizerKind.AdamW, Lr = 1e30, MinLrRatio = 1e-35, Warmup = 0.1, Cooldown = 0, GradClip = 1e30,
        };
        var lines = new List<string>();
        var result = Trainer.Run(config, new TrainRunOptions { Log = lines.Add });
        Assert.True(result.Stopped, string.Join("\n", lines));
        Assert.Contains("loss is NaN", result.Reason.Replace("∞", "NaN").Replace("Infinity", "NaN"));
        Assert.Contains("Last good checkpoint", result.Reason);
        Assert.True(Directory.Exists(result.FinalDir), "the last good checkpoint is kept");
        Assert.False(Directory.Exists(Path.Combine(tmp["run"], "final")));
        Assert.Contains(lines, l => l.StartsWith("stopped: "));
    }

    [Fact]
    public void AnswerLossWithoutAnyAnswerInViewNamesTheMarker()
    {
        using var tmp = new TestPaths.TempDir();
        var config = TrainConfigFile.Load(Path.Combine(TestPaths.RepoRoot, "configs", "ci-tiny.yaml"), new Dictionary<string, string>(), TestPaths.RepoRoot) with
        {
            Model = TestPaths.FixtureModel("ci-tiny"), TrainData = [Path.Combine(TestPaths.Fixtures, "data", "ci-math.txt")], Out = tmp["run"],
            MaxSteps = 2, EvalEvery = 0, LossOn = LossTokens.Answer, AnswerMarker = "\nNo such marker:",
        };
        var e = Assert.Throws<DeepenException>(() => Trainer.Run(config, new TrainRunOptions { Log = Quiet }));
        Assert.Contains("loss_on: answer", e.Message);
        Assert.Contains("\\nNo such marker:", e.Message);

        // With the data's own marker the same run trains, and its loss covers a different set of tokens than loss_on: all.
        double FirstLoss(LossTokens lossOn, string dir) =>
            MetricsLog.Read(Path.Combine(Trainer.Run(config with { LossOn = lossOn, AnswerMarker = "\nAnswer:", Out = tmp[dir] }, new TrainRunOptions { Log = Quiet }) is { Stopped: false }
                ? tmp[dir] : throw new InvalidOperationException("stopped"), MetricsLog.FileName)).First(r => r["kind"] is null)["loss"]!.GetValue<double>();
        double answer = FirstLoss(LossTokens.Answer, "a"), all = FirstLoss(LossTokens.All, "b");
        Assert.True(double.IsFinite(answer) && answer > 0);
        Assert.NotEqual(all, answer, 3);
    }

    [Fact]
    public void ShardFromAnotherTokenizerIsRefused()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var model = tmp["model"];
        Directory.CreateDirectory(model);
        foreach (var f in Directory.GetFiles(TestPaths.FixtureModel("converted-llama-tiny")))
            File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "tokenizers", "tiny-wordlevel")))
            File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        var config = TinyTrainingRun.Config(data, tmp["run"], 4) with { Model = model };
        var e = Assert.Throws<DeepenException>(() => Trainer.Run(config, new TrainRunOptions { Log = Quiet }));
        Assert.Contains("train.tokens", e.Message);
        Assert.Contains("test-fixture-ids", e.Message);
    }

    [Fact]
    public void ResumeFromACheckpointWithoutDoneIsRefused()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var config = TinyTrainingRun.Config(data, tmp["run"], 4) with { SaveEvery = 2 };
        Trainer.Run(config, new TrainRunOptions { Log = Quiet });
        var ckpt = Path.Combine(tmp["run"], "checkpoints", "step-000004");
        File.Delete(Path.Combine(ckpt, CheckpointManager.DoneFile));
        var e = Assert.Throws<DeepenException>(() => Trainer.Run(config with { MaxSteps = 6 }, new TrainRunOptions { Log = Quiet, Resume = ckpt }));
        Assert.Contains("DONE", e.Message);
        // And a fresh run into a directory with checkpoints is refused rather than overwriting them.
        var e2 = Assert.Throws<DeepenException>(() => Trainer.Run(config, new TrainRunOptions { Log = Quiet }));
        Assert.Contains("`resume` auto", e2.Message);
    }

    [Fact]
    public void Bf16MixedTrainsWithFloat32MasterWeights()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var config = TinyTrainingRun.Config(data, tmp["run"], 20) with { Precision = PrecisionKind.Bf16Mixed, EvalEvery = 10 };
        var result = Trainer.Run(config, new TrainRunOptions { Log = Quiet });
        Assert.False(result.Stopped, result.Reason);
        var vals = MetricsLog.Read(Path.Combine(tmp["run"], MetricsLog.FileName)).Where(r => r["kind"] is not null).ToList();
        double first = vals[0]["val_loss_r4"]!.GetValue<double>(), last = vals[^1]["val_loss_r4"]!.GetValue<double>();
        Assert.True(last < first, $"bf16-mixed held-out loss went from {first:F3} to {last:F3}");
        using var store = Deepen.Checkpoints.TensorStore.Open(result.FinalDir);
        Assert.Equal("F32", store.StoredDType());
    }
}
