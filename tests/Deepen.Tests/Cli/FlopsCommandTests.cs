using Deepen.Checkpoints;

namespace Deepen.Tests.Cli;

public class FlopsCommandTests
{
    [Fact]
    public void PrintsThePapersFormulasForARecurrentModel()
    {
        var dir = TestPaths.FixtureModel("converted-llama3-tiny");   // (1,2,1)
        var s = ModelSummary.For(dir);
        long perLayer = s.Config.ParamsPerLayer;
        Assert.Equal(perLayer, s.PartParameters("prelude"));
        var r = CliProcess.Run("flops", "--model", dir, "--recurrence", "1", "4", "12");
        Assert.Equal(0, r.ExitCode);
        var rows = r.Stdout.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(c => c.Length == 4 && int.TryParse(c[0], out _)).ToList();
        Assert.Equal(3, rows.Count);
        foreach (var row in rows)
        {
            long rec = long.Parse(row[0]);
            long eff = perLayer * (1 + 2 * rec + 1);
            long n = Math.Max(0, rec - 8), k = Math.Min(rec, 8);
            double train = 6.0 * perLayer * (1 + 2 * k + 1) + 2.0 * perLayer * 2 * n;
            Assert.Equal(eff, double.Parse(row[1]), eff * 1e-4);
            Assert.Equal(train, double.Parse(row[2]), train * 1e-4);
            Assert.Equal(2.0 * eff, double.Parse(row[3]), eff * 2e-4);
        }
    }

    [Fact]
    public void PlainModelRefusesRecurrenceAboveOne()
    {
        var r = CliProcess.Run("flops", "--model", TestPaths.FixtureModel("llama-tiny"), "--recurrence", "4");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("plain model", r.Stderr);
    }
}
