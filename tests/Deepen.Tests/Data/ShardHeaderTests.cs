using Deepen.Data;
using static Deepen.Tests.Data.DataTestKit;

namespace Deepen.Tests.Data;

/// <summary>Header validation: wrong magic, truncation, version, tokenizer fingerprint, row length mismatch.</summary>
public class ShardHeaderTests
{
    private static TokenShardLoaderOptions Options(string? fingerprint = "sha256:fake") =>
        new() { BatchSize = 1, ExpectedFingerprint = fingerprint, Log = _ => { } };

    [Fact]
    public void HeaderRoundTripsWithItsMetadata()
    {
        using var tmp = new TestPaths.TempDir();
        var path = WriteNumberedShard(tmp["a.tokens"], 3, 5);
        var h = TokenShardHeader.Read(path);
        Assert.Equal((TokenShardHeader.CurrentVersion, TokenDType.UInt16, 5, 3L), (h.Version, h.DType, h.RowLength, h.RowCount));
        Assert.Equal(0, h.DataOffset % TokenShardHeader.Alignment);
        Assert.Equal("sha256:fake", h.Metadata.TokenizerFingerprint);
        Assert.Equal("wrapped", h.Metadata.Packing);
        Assert.Equal("dropped", h.Metadata.FinalPartialRow);
        Assert.Equal("DPTOKENS"u8.ToArray(), File.ReadAllBytes(path)[..8]);
    }

    [Fact]
    public void WrongMagicIsNamed()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.tokens"], "PAR1 this is something else entirely, long enough for a header");
        var e = Assert.Throws<DeepenException>(() => new TokenShardLoader([tmp["a.tokens"]], Options()));
        Assert.Contains(tmp["a.tokens"], e.Message);
        Assert.Contains("not a Deepen token shard", e.Message);
        Assert.Contains("DPTOKENS", e.Message);
    }

    [Theory]
    [InlineData(1)]      // one token short
    [InlineData(200)]    // into the header
    [InlineData(-2)]     // two bytes too many
    public void TruncatedOrOversizedFilesAreNamed(int cut)
    {
        using var tmp = new TestPaths.TempDir();
        var path = WriteNumberedShard(tmp["a.tokens"], 20, 5);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, cut > 0 ? bytes[..^(cut * 2)] : [.. bytes, .. new byte[-cut]]);
        var e = Assert.Throws<DeepenException>(() => TokenShard.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(cut > 0 ? "truncated" : "oversized", e.Message);
    }

    [Fact]
    public void UnsupportedVersionIsNamed()
    {
        using var tmp = new TestPaths.TempDir();
        var path = WriteNumberedShard(tmp["a.tokens"], 2, 5);
        var bytes = File.ReadAllBytes(path);
        bytes[8] = 9;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DeepenException>(() => TokenShard.Open(path));
        Assert.Contains("version 9", e.Message);
    }

    [Fact]
    public void FingerprintMismatchNamesTheFileAndBothFingerprints()
    {
        using var tmp = new TestPaths.TempDir();
        var path = WriteNumberedShard(tmp["a.tokens"], 4, 5, fingerprint: "sha256:aaaa");
        var e = Assert.Throws<DeepenException>(() => new TokenShardLoader([path], Options("sha256:bbbb")));
        Assert.Contains(path, e.Message);
        Assert.Contains("sha256:aaaa", e.Message);
        Assert.Contains("sha256:bbbb", e.Message);
        using var unchecked_ = new TokenShardLoader([path], Options(fingerprint: null));   // no expectation, no check
        Assert.Equal(4, unchecked_.RowCount);
    }

    [Fact]
    public void ShardsOfOneLoaderMustAgree()
    {
        using var tmp = new TestPaths.TempDir();
        var a = WriteNumberedShard(tmp["a.tokens"], 4, 5);
        var b = WriteNumberedShard(tmp["b.tokens"], 4, 7);
        var c = WriteNumberedShard(tmp["c.tokens"], 4, 5, fingerprint: "sha256:other");
        var e = Assert.Throws<DeepenException>(() => new TokenShardLoader([a, b], Options()));
        Assert.Contains("rows of 7 tokens", e.Message);
        e = Assert.Throws<DeepenException>(() => new TokenShardLoader([a, c], Options(fingerprint: null)));
        Assert.Contains("sha256:other", e.Message);
    }

    [Fact]
    public void AnUnfinishedWriterLeavesNothingBehind()
    {
        using var tmp = new TestPaths.TempDir();
        using (var w = new TokenShardWriter(tmp["a.tokens"], TokenDType.UInt16, 3, Metadata()))
            w.WriteRow([1, 2, 3]);   // disposed without Complete()
        Assert.Empty(Directory.GetFiles(tmp.Path));
    }
}
