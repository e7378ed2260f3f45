using Deepen.Tests.Cli;
using Deepen.Training;

namespace Deepen.Tests.Training;

/// <summary><c>deepen train --config configs/ci-tiny.yaml</c> runs from the repository's own files and learns.</summary>
public class CiRecipeTests
{
    [Fact]
    public void CiRecipeLowersHeldOutLossByAtLeastOneAndAHalfNats()
    {
        using var tmp = new TestPaths.TempDir();
        var r = CliProcess.Run("train", "--config", Path.Combine(TestPaths.RepoRoot, "configs", "ci-tiny.yaml"), "--out", tmp["run"],
            "--model", TestPaths.FixtureModel("ci-tiny"), "--train_data", Path.Combine(TestPaths.Fixtures, "data", "ci-math.txt"));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var vals = MetricsLog.Read(Path.Combine(tmp["run"], MetricsLog.FileName)).Where(x => x["kind"] is not null).ToList();
        Assert.Equal(0, vals[0]["step"]!.GetValue<int>());
        Assert.Equal(60, vals[^1]["step"]!.GetValue<int>());
        foreach (var rec in new[] { 1, 4 })
        {
            double before = vals[0][$"val_loss_r{rec}"]!.GetValue<double>(), after = vals[^1][$"val_loss_r{rec}"]!.GetValue<double>();
            Assert.True(before - after >= 1.5, $"r={rec}: held-out loss {before:F3} → {after:F3}");
        }
        Assert.True(File.Exists(Path.Combine(tmp["run"], "final", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(tmp["run"], "final", "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(tmp["run"], "config.yaml")));
    }
}
