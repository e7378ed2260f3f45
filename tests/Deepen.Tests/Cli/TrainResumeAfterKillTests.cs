using Deepen.Tests.Training;
using Deepen.Training;

namespace Deepen.Tests.Cli;

/// <summary>Exact resume after a real crash: SIGKILL right after the step-20 checkpoint, resume to 40.</summary>
public class TrainResumeAfterKillTests
{
    private static string[] Args(string data, string run, params string[] extra) =>
    [
        "train", "--model", TestPaths.FixtureModel("converted-llama-tiny"), "--train_data", data, "--out", run,
        "--max_steps", "40", "--micro_batch_size", "4", "--grad_accum_steps", "2", "--mean_recurrence", "4", "--backprop_depth", "2",
        "--curriculum", "1-sqrt", "--curriculum_warmup", "0.5", "--lr", "3e-3", "--muon_lr", "2e-2", "--warmup", "0.1", "--cooldown", "0.3",
        "--eval_every", "0", "--val_batches", "1", "--val_recurrences", "1,4", "--save_every", "10", "--threads", "1", .. extra,
    ];

    [Fact]
    public void KilledRunResumesToTheSameMetricsAndBitIdenticalWeights()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var straight = CliProcess.Run(Args(data, tmp["straight"]));
        Assert.True(straight.ExitCode == 0, straight.Stderr);

        var killed = CliProcess.Run(Args(data, tmp["split"], "--kill-after-step", "20"));
        Assert.Equal(137, killed.ExitCode);   // 128 + SIGKILL
        Assert.True(Directory.Exists(Path.Combine(tmp["split"], "checkpoints", "step-000020")));
        Assert.False(Directory.Exists(Path.Combine(tmp["split"], "final")));

        var resumed = CliProcess.Run(Args(data, tmp["split"], "--resume", "auto"));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resumed from", resumed.Stdout);
        TrainerTests.AssertSameTrajectory(tmp["straight"], tmp["split"], 21, 40);
    }
}
