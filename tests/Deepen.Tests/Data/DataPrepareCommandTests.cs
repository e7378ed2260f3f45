using Deepen.Cli.Commands;
using Deepen.Data;

namespace Deepen.Tests.Data;

/// <summary><c>deepen data prepare</c> end to end with the fake tokenizer: files, manifest, recorded command.</summary>
public class DataPrepareCommandTests
{
    [Fact]
    public void VerbWritesShardsAndManifest()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllLines(tmp["c.txt"], Enumerable.Range(0, 50).Select(i => $"line {i}"));
        var root = new System.CommandLine.RootCommand { DataCommand.Create(new Deepen.Cli.CliServices { OpenTokenizer = _ => new FakeTokenizer() }) };
        int rc = root.Parse(["data", "prepare", "--tokenizer", "fake-dir", "--input", tmp["c.txt"], "--doc-split", "line",
            "--seq-len", "15", "--out", tmp["out"], "--holdout-rows", "3", "--seed", "5"]).Invoke();
        Assert.Equal(0, rc);
        var m = DataManifest.Read(tmp["out/manifest.json"]);
        Assert.Equal(3, m.Val.Rows);
        Assert.Equal(m.Train.Rows, TokenShardHeader.Read(tmp["out/train.tokens"]).RowCount);
        Assert.Equal(3, TokenShardHeader.Read(tmp["out/val.tokens"]).RowCount);
        Assert.Equal(16, m.RowLength);
        Assert.Equal(5, m.Seed);
        Assert.Equal("line", m.DocSplit);
        Assert.Equal(50, m.Documents);
        Assert.StartsWith("deepen data prepare --tokenizer fake-dir --input ", m.Command);
        Assert.Contains("--holdout-rows 3", m.Command);
        Assert.Equal("sha256:fake", m.TokenizerFingerprint);
    }
}
