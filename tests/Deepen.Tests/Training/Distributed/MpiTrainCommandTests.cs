using System.Diagnostics;
using Deepen.Training;

namespace Deepen.Tests.Training.Distributed;

/// <summary><c>mpirun -n 2 deepen train</c>: the recipe runs, rank 0 alone writes, a lost rank ends the job, resume continues.</summary>
[Collection(MpiCollection.Name)]
public class MpiTrainCommandTests
{
    [MpiFact]
    public void CiRecipeOnTwoRanksWritesOneMetricsFileAndLearns()
    {
        using var tmp = new TestPaths.TempDir();
        var (code, output) = MpiJob.Run(2, "train", "--config", Path.Combine(TestPaths.RepoRoot, "configs", "ci-tiny.yaml"), "--out", tmp["run"],
            "--model", TestPaths.FixtureModel("ci-tiny"), "--train_data", Path.Combine(TestPaths.Fixtures, "data", "ci-math.txt"), "--threads", "1");
        Assert.True(code == 0, output);

        Assert.Equal([Path.Combine(tmp["run"], MetricsLog.FileName)], Directory.GetFiles(tmp["run"], "*metrics*", SearchOption.AllDirectories));
        var rows = MetricsLog.Read(Path.Combine(tmp["run"], MetricsLog.FileName));
        Assert.Equal(Enumerable.Range(1, 60), rows.Where(r => r["kind"] is null).Select(r => r["step"]!.GetValue<int>()));   // each step once
        var vals = rows.Where(r => r["kind"] is not null).ToList();
        Assert.Equal([0, 20, 40, 60], vals.Select(v => v["step"]!.GetValue<int>()));
        Assert.Equal(2 * 8 * 64, rows.First(r => r["kind"] is null)["tokens"]!.GetValue<long>());   // both ranks' tokens
        double before = vals[0]["val_loss_r4"]!.GetValue<double>(), after = vals[^1]["val_loss_r4"]!.GetValue<double>();
        Assert.True(before - after >= 1.5, $"held-out loss {before:F3} → {after:F3}");
        Assert.True(File.Exists(Path.Combine(tmp["run"], "final", "model.safetensors")));
        Assert.StartsWith("# mpirun -n 2 deepen train", File.ReadLines(Path.Combine(tmp["run"], "config.yaml")).First());
        // Rank 0 alone prints.
        Assert.Single(output.Split('\n'), l => l.StartsWith("data parallel over 2 ranks", StringComparison.Ordinal));
        Assert.Single(output.Split('\n'), l => l.StartsWith("done: 60 steps", StringComparison.Ordinal));
    }

    /// <summary>
    /// A 2-rank run with a sequence-length schedule (each rank's token stream is saved in the checkpoint): SIGKILL
    /// of rank 1 ends the job within seconds, saying so; resume runs on; SIGUSR1 to mpirun stops both ranks at the
    /// same step with a checkpoint; resume again finishes; and the result equals an uninterrupted 2-rank run bit for bit.
    /// </summary>
    [MpiFact]
    public void KilledRankEndsTheJobAndResumeContinuesTheSameRun()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"], trainRows: 400);
        var config = TinyTrainingRun.Config(data, "", 40) with { SeqLenSchedule = ["64", "256", "0.5", "linear"], MicroBatchSize = 2, SaveEvery = 4, KeepLast = 2, Threads = 1 };
        string straight = MpiJob.WriteConfig(config with { Out = tmp["straight"] }, tmp.Path, "straight");
        string broken = MpiJob.WriteConfig(config with { Out = tmp["broken"] }, tmp.Path, "broken");

        var (code, output) = MpiJob.Run(2, "train", "--config", straight);
        Assert.True(code == 0, output);

        // 1. SIGKILL rank 1 after the first checkpoint: the job ends, promptly and saying why.
        using (var job = MpiJob.Start(2, "train", "--config", broken))
        {
            Assert.True(job.WaitForLine(l => l.StartsWith("checkpoint:", StringComparison.Ordinal), TimeSpan.FromSeconds(120)), job.Output);
            Process.GetProcessById(job.RankPid(1)).Kill();
            var clock = Stopwatch.StartNew();
            Assert.True(job.WaitForExit(TimeSpan.FromSeconds(30)), "rank 0 still runs 30 s after rank 1 was killed:\n" + job.Output);
            Assert.True(job.ExitCode != 0, job.Output);
            Assert.Contains("rank 1", job.Output);
            Assert.Contains("exited on signal 9", job.Output);                  // mpirun's report
            Assert.Contains("rank 0: terminated by mpirun", job.Output);        // the survivor's
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));
        }

        // 2. Resume; SIGUSR1 to mpirun (forwarded to every rank) stops both at the same step, after a checkpoint.
        using (var job = MpiJob.Start(2, "train", "--config", broken, "--resume", "auto"))
        {
            Assert.True(job.WaitForLine(l => l.StartsWith("resumed from", StringComparison.Ordinal), TimeSpan.FromSeconds(120)), job.Output);
            Assert.True(job.WaitForLine(l => l.StartsWith("step ", StringComparison.Ordinal) && !l.StartsWith("step 1/", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), job.Output);
            Assert.Equal(0, Kill(job, "USR1"));
            Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), job.Output);
            Assert.True(job.ExitCode == 130, job.Output);
            Assert.Contains("interrupted after step", job.Output);
        }

        // 3. Resume again to the end: the same trajectory and weights as the straight run.
        (code, output) = MpiJob.Run(2, "train", "--config", broken, "--resume", "auto");
        Assert.True(code == 0, output);
        TrainerTests.AssertSameTrajectory(tmp["straight"], tmp["broken"], 1, 40);
    }

    /// <summary>A rank that hangs (SIGSTOP) is not noticed by mpirun; the collective timeout ends the job.</summary>
    [MpiFact]
    public void HungRankEndsTheJobAfterTheCollectiveTimeout()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"]);
        var config = MpiJob.WriteConfig(TinyTrainingRun.Config(data, tmp["run"], 400) with { MicroBatchSize = 2 }, tmp.Path, "run");
        using var job = MpiJob.Start(2, "train", "--config", config, "--collective-timeout", "3");
        Assert.True(job.WaitForLine(l => l.StartsWith("step 3/", StringComparison.Ordinal), TimeSpan.FromSeconds(120)), job.Output);
        int rank1 = job.RankPid(1);
        Assert.Equal(0, Kill(rank1.ToString(), "STOP"));
        var clock = Stopwatch.StartNew();
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(40)), "the job still runs 40 s after rank 1 hung:\n" + job.Output);
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(2.5), $"ended after {clock.Elapsed.TotalSeconds:F1} s, before the 3 s timeout:\n{job.Output}");
        Assert.True(job.ExitCode != 0, job.Output);
        Assert.Contains("error: rank 0 of 2: MPI_Allreduce", job.Output);
        Assert.Contains("collective timeout 3 s", job.Output);
    }

    private static int Kill(MpiJob job, string signal) => Kill(job.MpirunPid.ToString(), signal);

    private static int Kill(string pid, string signal)
    {
        using var p = Process.Start("kill", ["-" + signal, pid]);
        p.WaitForExit();
        return p.ExitCode;
    }
}
