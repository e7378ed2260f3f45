using Deepen.Data;
using static Deepen.Tests.Data.DataTestKit;

namespace Deepen.Tests.Data;

/// <summary>Wrapped packing: exact rows for known documents, BOS/EOS placement, the dropped tail.</summary>
public class PackingTests
{
    [Fact]
    public void DocumentsAreWrappedIntoExactRowsWithBosAndEos()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.txt"], "abc");
        File.WriteAllText(tmp["b.txt"], "de");
        File.WriteAllText(tmp["c.txt"], "fghijk");
        // Stream: [1 a b c 2][1 d e 2][1 f g h i j k 2] = 5 + 4 + 8 = 17 tokens → 4 rows of 4, 1 token dropped.
        var m = Prepare(tmp.Path, [tmp["a.txt"], tmp["b.txt"], tmp["c.txt"]], seqLen: 3);
        int[] stream = [.. Doc("abc"), .. Doc("de"), .. Doc("fghijk")];
        var rows = ReadRows(Path.Combine(tmp.Path, "out", DataPreparer.TrainFile));
        Assert.Equal(4, rows.Length);
        for (int r = 0; r < 4; r++) Assert.Equal(stream[(r * 4)..(r * 4 + 4)], rows[r]);
        Assert.Equal([1, 'a', 'b', 'c'], rows[0]);
        Assert.Equal([2, 1, 'd', 'e'], rows[1]);   // EOS ends doc 1, BOS starts doc 2 in the same row
        Assert.Equal(1, m.DroppedTokens);
        Assert.Equal(17, m.Tokens);
        Assert.Equal(3, m.Documents);
        Assert.Equal(4, m.Train.Rows);
        Assert.Equal(0, m.Val.Rows);
        Assert.Equal("dropped", m.FinalPartialRow);
        Assert.Equal(4, m.RowLength);
    }

    [Fact]
    public void WithoutBosOnlyEosSeparatesDocuments()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.txt"], "ab\n\ncd\n");
        var tok = new FakeTokenizer(bosId: null, eosId: 3);
        Prepare(tmp.Path, [tmp["a.txt"]], seqLen: 2, tokenizer: tok, sources: new(DocumentSplit.Paragraph));
        var rows = ReadRows(Path.Combine(tmp.Path, "out", DataPreparer.TrainFile));
        Assert.Equal([['a', 'b', 3], ['c', 'd', 3]], rows);
    }

    [Fact]
    public void PackerCutsLongDocumentsAcrossRowsAndKeepsTheTailPending()
    {
        var rows = new List<int[]>();
        var packer = new WrappedRowPacker(3, r => rows.Add(r.ToArray()));
        packer.Add([10, 11, 12, 13, 14, 15, 16]);
        packer.Add(17);
        packer.Add([18]);
        Assert.Equal([[10, 11, 12], [13, 14, 15], [16, 17, 18]], rows);
        packer.Add([19, 20]);
        Assert.Equal(2, packer.Pending);
        Assert.Equal(3, packer.Rows);
        Assert.Equal(11, packer.Tokens);
    }

    [Fact]
    public void TooLittleDataForOneRowIsAnError()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.txt"], "ab");
        var e = Assert.Throws<DeepenException>(() => Prepare(tmp.Path, [tmp["a.txt"]], seqLen: 8));
        Assert.Contains("fewer than one row of 9", e.Message);
    }

    [Fact]
    public void TokenizerWithoutEosIsRefused()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.txt"], "abcdef");
        var e = Assert.Throws<DeepenException>(() => Prepare(tmp.Path, [tmp["a.txt"]], seqLen: 2, tokenizer: new FakeTokenizer(eosId: null)));
        Assert.Contains("no EOS", e.Message);
    }

    [Theory]
    [InlineData(65_536, TokenDType.UInt16)]
    [InlineData(65_537, TokenDType.UInt32)]
    [InlineData(128_256, TokenDType.UInt32)]
    [InlineData(32_000, TokenDType.UInt16)]
    public void DtypeFollowsVocabularySize(int vocab, TokenDType expected)
    {
        Assert.Equal(expected, TokenDTypes.ForVocabulary(vocab));
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.txt"], "abcdefgh");
        var m = Prepare(tmp.Path, [tmp["a.txt"]], seqLen: 4, tokenizer: new FakeTokenizer(vocabSize: vocab));
        var path = Path.Combine(tmp.Path, "out", DataPreparer.TrainFile);
        var header = TokenShardHeader.Read(path);
        Assert.Equal(expected, header.DType);
        Assert.Equal(expected.Name(), m.Dtype);
        Assert.Equal(header.DataOffset + 2 * 5 * (int)expected, new FileInfo(path).Length);   // 10 tokens → 2 rows of 5
        Assert.Equal([1, 'a', 'b', 'c', 'd'], ReadRows(path)[0]);
    }

    [Fact]
    public void LargeIdsRoundTripInUint32AndAreRefusedByUint16()
    {
        using var tmp = new TestPaths.TempDir();
        var path = tmp["big.tokens"];
        using (var w = new TokenShardWriter(path, TokenDType.UInt32, 3, Metadata()))
        {
            w.WriteRow([70_000, 0, 128_255]);
            w.Complete();
        }
        Assert.Equal([[70_000, 0, 128_255]], ReadRows(path));
        using var w16 = new TokenShardWriter(tmp["small.tokens"], TokenDType.UInt16, 3, Metadata());
        var e = Assert.Throws<DeepenException>(() => w16.WriteRow([1, 65_536, 2]));
        Assert.Contains("65536", e.Message);
        Assert.Contains("uint16", e.Message);
    }

    [Fact]
    public void PreparingTwiceGivesIdenticalFiles()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.txt"], string.Concat(Enumerable.Range(0, 400).Select(i => (char)('a' + i % 26))));
        Prepare(tmp.Path, [tmp["a.txt"]], seqLen: 7, holdout: 0.1, outName: "one");
        Prepare(tmp.Path, [tmp["a.txt"]], seqLen: 7, holdout: 0.1, outName: "two");
        foreach (var f in new[] { DataPreparer.TrainFile, DataPreparer.ValFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(tmp.Path, "one", f)), File.ReadAllBytes(Path.Combine(tmp.Path, "two", f)));
        Assert.Empty(Directory.GetFiles(Path.Combine(tmp.Path, "one"), "*.tmp-*"));
    }
}
