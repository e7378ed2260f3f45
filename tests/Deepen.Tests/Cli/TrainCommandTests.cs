using Deepen.Cli;
using Deepen.Cli.Commands;
using Deepen.Training;

namespace Deepen.Tests.Cli;

/// <summary>
/// <c>deepen train</c>: every config key is a flag; flags win over the file; unknown flags and keys name the nearest
/// valid one; exit codes 0 / 1 / 3; Ctrl-C asks the run to stop once and lets a second one terminate.
/// The in-process tests replace the trainer with a recorder.
/// </summary>
public class TrainCommandTests
{
    private sealed class Recorder
    {
        public TrainConfig? Config;
        public TrainRunOptions? Options;
        public TrainResult Result = new(5, false, "completed", "/run/final");

        public int Run(params string[] args)
        {
            var services = new CliServices { RunTrainer = (c, o) => { Config = c; Options = o; return Result; } };
            return DeepenCli.Build(services).Parse(args).Invoke();
        }
    }

    [Fact]
    public void UnknownFlagIsAnErrorNamingTheNearestFlag()
    {
        var r = CliProcess.Run("train", "--model", "m", "--micro_batch", "4");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: unknown flag '--micro_batch'; did you mean '--micro_batch_size'?", r.Stderr.Trim());
        var kebab = CliProcess.Run("train", "--train-data", "a.tokens", "b.tokens", "--micro-batch", "4");
        Assert.Equal(1, kebab.ExitCode);
        Assert.Equal("error: unknown flag '--micro-batch'; did you mean '--micro-batch-size'?", kebab.Stderr.Trim());
    }

    [Fact]
    public void UnknownKeyInTheConfigFileNamesTheFileAndTheNearestKey()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["x.yaml"], "model: m\nout: o\ntrain_data: [d]\ngrad_acum_steps: 4\n");
        var r = CliProcess.Run("train", "--config", tmp["x.yaml"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: unknown key 'grad_acum_steps' in {tmp["x.yaml"]}:4; did you mean 'grad_accum_steps'?", r.Stderr.Trim());
    }

    [Fact]
    public void HelpListsEveryKeyAsAFlagWithItsDescription()
    {
        var r = CliProcess.Run("train", "--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var key in TrainConfigKeys.All)
        {
            Assert.Contains(key.Flag, r.Stdout);
            Assert.Contains(key.KebabFlag, r.Stdout);
        }
        Assert.Contains("Sequences per micro-batch (per rank). (default: 8)", r.Stdout);   // TrainConfig's XML summary
        Assert.Contains("<muon|adamw>", r.Stdout);
        Assert.DoesNotContain("--kill-after-step", r.Stdout);
    }

    [Fact]
    public void FlagsOverrideTheFileAndReachTheTrainer()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["c.yaml"], "model: /m\nout: /o\ntrain_data: [/a]\nmicro_batch_size: 2\nlr: 0.5\nval_recurrences: [1]\n");
        var rec = new Recorder();
        int code = rec.Run("train", "--config", tmp["c.yaml"], "--micro-batch-size", "4", "--val_recurrences", "2,4", "--val_recurrences", "8",
            "--train_data", "/x.tokens", "/y.tokens", "--seed=9", "--resume", "auto", "--kill-after-step", "3");
        Assert.Equal(0, code);
        var c = rec.Config!;
        Assert.Equal(4, c.MicroBatchSize);
        Assert.Equal([2, 4, 8], c.ValRecurrences);
        Assert.Equal(["/x.tokens", "/y.tokens"], c.TrainData);
        Assert.Equal(9L, c.Seed);
        Assert.Equal(0.5, c.Lr);   // from the file
        Assert.Equal("auto", rec.Options!.Resume);
        Assert.NotNull(rec.Options.AfterCheckpoint);                  // --kill-after-step installs the crash hook
        Assert.False(rec.Options.Cancel.IsCancellationRequested);
        Assert.StartsWith($"deepen train --config {tmp["c.yaml"]} --micro-batch-size 4", rec.Options.CommandLine);
    }

    [Fact]
    public void WithoutKillAfterStepNoHookIsInstalled()
    {
        var rec = new Recorder();
        Assert.Equal(0, rec.Run("train", "--model", "/m", "--out", "/o", "--train_data", "/d"));
        Assert.Null(rec.Options!.AfterCheckpoint);
    }

    [Fact]
    public void ExitCodesTellCompletionUserErrorsAndEarlyStops()
    {
        var rec = new Recorder();
        string[] ok = ["train", "--model", "/m", "--out", "/o", "--train_data", "/d"];
        Assert.Equal(0, rec.Run(ok));
        rec.Result = new TrainResult(17, true, "loss is NaN at step 17", "");
        Assert.Equal(TrainCommand.ExitStopped, rec.Run(ok));
        rec.Config = null;
        Assert.Equal(1, rec.Run([.. ok, "--optimizer", "sgd"]));   // validation happens before the trainer runs
        Assert.Equal(1, rec.Run([.. ok, "--max_steps", "many"]));
        Assert.Equal(1, rec.Run("train", "--out", "/o"));          // model and train_data missing
        Assert.Null(rec.Config);
    }

    [Fact]
    public void FirstInterruptCancelsTheRunAndTheSecondLetsTheProcessGo()
    {
        var said = new List<string>();
        using var interrupt = new GracefulInterrupt(said.Add, listen: false);
        Assert.False(interrupt.Requested);
        Assert.True(interrupt.OnInterrupt("Ctrl-C"));      // keep running: the trainer saves and returns
        Assert.True(interrupt.Token.IsCancellationRequested);
        Assert.False(interrupt.OnInterrupt("Ctrl-C"));     // terminate now
        Assert.Equal(2, said.Count);
    }
}
