using Deepen.Data;
using static Deepen.Tests.Data.DataTestKit;

namespace Deepen.Tests.Data;

/// <summary>The held-out split: disjoint from train, together all rows, sized as asked, chosen by seed.</summary>
public class HoldoutTests
{
    private static string Corpus(TestPaths.TempDir tmp)
    {
        // 200 lines of distinct text → 200 documents; with seq_len 9 every row is distinguishable.
        File.WriteAllLines(tmp["c.txt"], Enumerable.Range(0, 200).Select(i => $"doc{i:D3}"));
        return tmp["c.txt"];
    }

    private static List<string> Keys(int[][] rows) => rows.Select(r => string.Join(",", r)).ToList();

    [Fact]
    public void HoldoutIsDisjointAndTogetherEqualsAllRows()
    {
        using var tmp = new TestPaths.TempDir();
        var input = Corpus(tmp);
        var lines = new DocumentSourceOptions(DocumentSplit.Line);
        var all = Prepare(tmp.Path, [input], seqLen: 9, holdout: 0, sources: lines, outName: "all");
        var split = Prepare(tmp.Path, [input], seqLen: 9, holdout: 0.1, sources: lines, outName: "split");
        var allRows = Keys(ReadRows(Path.Combine(tmp.Path, "all", DataPreparer.TrainFile)));
        var train = Keys(ReadRows(Path.Combine(tmp.Path, "split", DataPreparer.TrainFile)));
        var val = Keys(ReadRows(Path.Combine(tmp.Path, "split", DataPreparer.ValFile)));
        Assert.Equal(allRows.Count, allRows.Distinct().Count());   // rows are unique, so set algebra is meaningful
        Assert.Equal(160, allRows.Count);                          // 200 docs × 8 tokens (BOS + 6 chars + EOS) / 10
        Assert.Equal(16, val.Count);
        Assert.Empty(train.Intersect(val));
        Assert.Equal(allRows.OrderBy(x => x), train.Concat(val).OrderBy(x => x));
        Assert.Equal(allRows.Where(r => !val.Contains(r)), train);  // train keeps the packed order
        Assert.Equal(16, split.Val.Rows);
        Assert.Equal(144, split.Train.Rows);
    }

    [Fact]
    public void HoldoutRowsIsExactAndTheChoiceFollowsTheSeed()
    {
        using var tmp = new TestPaths.TempDir();
        var input = Corpus(tmp);
        var lines = new DocumentSourceOptions(DocumentSplit.Line);
        Prepare(tmp.Path, [input], seqLen: 9, holdoutRows: 5, seed: 1, sources: lines, outName: "s1");
        Prepare(tmp.Path, [input], seqLen: 9, holdoutRows: 5, seed: 1, sources: lines, outName: "s1b");
        Prepare(tmp.Path, [input], seqLen: 9, holdoutRows: 5, seed: 2, sources: lines, outName: "s2");
        var v1 = Keys(ReadRows(Path.Combine(tmp.Path, "s1", DataPreparer.ValFile)));
        Assert.Equal(5, v1.Count);
        Assert.Equal(v1, Keys(ReadRows(Path.Combine(tmp.Path, "s1b", DataPreparer.ValFile))));
        Assert.NotEqual(v1, Keys(ReadRows(Path.Combine(tmp.Path, "s2", DataPreparer.ValFile))));
        Assert.Equal(1, TokenShardHeader.Read(Path.Combine(tmp.Path, "s1", DataPreparer.ValFile)).Metadata.Seed);
        Assert.Equal("val", TokenShardHeader.Read(Path.Combine(tmp.Path, "s1", DataPreparer.ValFile)).Metadata.Split);
    }

    [Fact]
    public void HoldingOutEveryRowIsRefused()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.txt"], "abcdefgh");   // 10 tokens → 2 rows of 5
        var e = Assert.Throws<DeepenException>(() => Prepare(tmp.Path, [tmp["a.txt"]], seqLen: 4, holdoutRows: 2));
        Assert.Contains("no training rows", e.Message);
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "out")) && File.Exists(Path.Combine(tmp.Path, "out", DataPreparer.TrainFile)));
    }

    [Fact]
    public void PermutationIsAFixedSeededShuffle()
    {
        var p = DeterministicShuffle.Permutation(10, 74);
        Assert.Equal(Enumerable.Range(0, 10), p.Order());
        Assert.Equal(p, DeterministicShuffle.Permutation(10, 74));
        Assert.NotEqual(p, DeterministicShuffle.Permutation(10, 75));
        // Values from the independent Python reference tests/fixtures/data/shuffle_reference.py: the algorithm is
        // part of the format (docs/formats/token-shards.md), so another language can reproduce the order.
        Assert.Equal([1, 5, 7, 0, 6, 9, 4, 2, 8, 3], p);
        Assert.Equal([16, 19, 7, 0, 10, 14, 6, 18, 2, 17, 1, 8, 4, 3, 11, 15, 12, 5, 9, 13], DeterministicShuffle.Permutation(20, -3));
    }
}
