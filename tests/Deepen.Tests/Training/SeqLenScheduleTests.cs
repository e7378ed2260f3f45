using Deepen.Conversion;
using Deepen.Data;
using Deepen.Training;

namespace Deepen.Tests.Training;

public class SeqLenScheduleTests
{
    [Fact]
    public void LengthsRampInMultiplesOf64AndNeverDecrease()
    {
        var s = SeqLenSchedule.Parse(["64", "256", "0.5", "linear"], 100, 256)!;
        var lengths = Enumerable.Range(0, 100).Select(i => s.At(i)).ToList();
        Assert.Equal(64, lengths[0]);
        Assert.Equal(256, lengths[50]);
        Assert.Equal(256, lengths[^1]);
        Assert.All(lengths, l => Assert.Equal(0, l % 64));
        Assert.True(lengths.Zip(lengths.Skip(1)).All(p => p.Second >= p.First));
        Assert.Equal(192, s.At(25));   // 64 + 192·0.5 = 160 → nearest multiple of 64, halves away from zero: 192
        Assert.Equal(128, s.At(12));   // 64 + 192·0.24 = 110.1 → 128
    }

    [Fact]
    public void OneMinusSqrtStaysShortLonger()
    {
        var lin = SeqLenSchedule.Parse(["64", "512", "1.0", "linear"], 100, 512)!;
        var sqrt = SeqLenSchedule.Parse(["64", "512", "1.0", "1-sqrt"], 100, 512)!;
        Assert.True(sqrt.At(30) < lin.At(30));
    }

    [Theory]
    [InlineData(new[] { "64", "512", "0.5", "linear" }, "exceeds the model's context of 256")]
    [InlineData(new[] { "60", "256", "0.5", "linear" }, "multiples of 64")]
    [InlineData(new[] { "64", "256", "1.5", "linear" }, "warmup_fraction")]
    [InlineData(new[] { "64", "256", "0.5", "cosine" }, "not linear or 1-sqrt")]
    [InlineData(new[] { "64", "256" }, "expected [start, end, warmup_fraction")]
    public void BadSchedulesAreRefused(string[] spec, string message)
    {
        var e = Assert.Throws<DeepenException>(() => SeqLenSchedule.Parse(spec, 100, 256));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void AStridePlanThatDoesNotFitIsRefused()
    {
        var e = Assert.Throws<DeepenException>(() => LayerPlan.FromStride(2, 4, 2, 5, 16));
        Assert.Contains("core_stride 5", e.Message);
    }

    [Fact]
    public void TheStreamLosesAndRepeatsNothingWhenTheLengthChanges()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"], trainRows: 12, rowLength: 33);
        using var loader = new TokenShardLoader([Path.Combine(data, DataPreparer.TrainFile)],
            new TokenShardLoaderOptions { BatchSize = 2, Seed = 3, Log = _ => { } });
        using var reference = new TokenShardLoader([Path.Combine(data, DataPreparer.TrainFile)],
            new TokenShardLoaderOptions { BatchSize = 2, Seed = 3, Log = _ => { } });
        // The expected stream: the rows in the loader's order, concatenated.
        var expected = new List<long>();
        var buf = new long[33];
        for (int i = 0; i < 4; i++)
        {
            reference.TryNextRows(out var rows);
            foreach (var r in rows) { reference.ReadRow(r, 0, buf); expected.AddRange(buf); }
        }
        var stream = new TokenStream(loader);
        var labels = new List<long>();
        long first = -1;
        foreach (var len in new[] { 5, 17, 3, 40 })
        {
            Assert.True(stream.TryNext(2, len, out var b));
            using (b)
            {
                var ins = b.Inputs.data<long>().ToArray();
                var lab = b.Labels.data<long>().ToArray();
                if (first < 0) first = ins[0];
                for (int s = 0; s < 2; s++)
                {
                    Assert.Equal(ins.Skip(s * len + 1).Take(len - 1), lab.Skip(s * len).Take(len - 1));   // labels are inputs shifted
                    labels.AddRange(lab.Skip(s * len).Take(len));
                }
            }
        }
        Assert.Equal(expected[0], first);
        Assert.Equal(expected.Skip(1).Take(labels.Count), labels);   // every stream token once, in order, as a label
        Assert.Equal(2 * (5 + 17 + 3 + 40), labels.Count);
    }
}

public class SeqLenScheduleTrainingTests
{
    private static TrainConfig Config(string data, string run) =>
        TinyTrainingRun.Config(data, run, 12) with { SeqLenSchedule = ["64", "256", "0.5", "linear"], MicroBatchSize = 2 };

    [Fact]
    public void LoggedLengthFollowsTheScheduleAndTokensAddUp()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"], trainRows: 200);
        var config = Config(data, tmp["run"]);
        Trainer.Run(config, new TrainRunOptions { Log = _ => { } });
        var schedule = SeqLenSchedule.Parse(config.SeqLenSchedule, config.MaxSteps, 256)!;
        var steps = MetricsLog.Read(Path.Combine(tmp["run"], MetricsLog.FileName)).Where(r => r["kind"] is null).ToList();
        long sum = 0;
        foreach (var row in steps)
        {
            int step = row["step"]!.GetValue<int>(), len = row["seq_len"]!.GetValue<int>();
            Assert.Equal(schedule.At(step - 1), len);
            sum += (long)len * config.MicroBatchSize * config.GradAccumSteps;
            Assert.Equal(sum, row["tokens"]!.GetValue<long>());
        }
        Assert.Equal(64, steps[0]["seq_len"]!.GetValue<int>());
        Assert.Equal(256, steps[^1]["seq_len"]!.GetValue<int>());
    }

    [Fact]
    public void ResumeInTheMiddleOfTheRampReproducesTheStraightRun()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"], trainRows: 200);
        Trainer.Run(Config(data, tmp["straight"]), new TrainRunOptions { Log = _ => { } });
        var split = Config(data, tmp["split"]) with { SaveEvery = 3 };
        using var cts = new CancellationTokenSource();
        var first = Trainer.Run(split, new TrainRunOptions { Log = l => { if (l.StartsWith("step 3/")) cts.Cancel(); }, Cancel = cts.Token });
        Assert.Equal(3, first.StepsDone);   // mid-ramp: lengths 64 → 256 over steps 1-6
        Trainer.Run(split, new TrainRunOptions { Log = _ => { }, Resume = "auto" });
        TrainerTests.AssertSameTrajectory(tmp["straight"], tmp["split"], 4, 12);
    }
}
