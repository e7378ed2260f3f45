using Deepen.Data;
using Deepen.Tokenization;

namespace Deepen.Tests.Data;

/// <summary>
/// A character-level tokenizer for tests: every char c becomes id (int)c, preceded by BOS when it has one.
/// Its rows are therefore predictable by hand.
/// </summary>
public sealed class FakeTokenizer(int vocabSize = 256, int? bosId = 1, int? eosId = 2, string fingerprint = "sha256:fake") : ITokenEncoder
{
    public int VocabSize { get; } = vocabSize;
    public int? BosId { get; } = bosId;
    public int? EosId { get; } = eosId;
    public string Fingerprint { get; } = fingerprint;

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        bool bos = addSpecialTokens && BosId is not null;
        var ids = new int[text.Length + (bos ? 1 : 0)];
        int k = 0;
        if (bos) ids[k++] = BosId!.Value;
        foreach (char c in text) ids[k++] = c;
        return ids;
    }
}

/// <summary>Helpers shared by the data tests.</summary>
public static class DataTestKit
{
    /// <summary>The ids of a text under <see cref="FakeTokenizer"/> with BOS 1 and EOS 2: [1, chars..., 2].</summary>
    public static int[] Doc(string text) => [1, .. text.Select(c => (int)c), 2];

    /// <summary>Every row of a shard, as int arrays.</summary>
    public static int[][] ReadRows(string path)
    {
        using var shard = TokenShard.Open(path);
        var rows = new int[shard.RowCount][];
        var row = new long[shard.RowLength];
        for (long r = 0; r < shard.RowCount; r++)
        {
            shard.ReadRow(r, 0, row);
            rows[r] = Array.ConvertAll(row, t => checked((int)t));
        }
        return rows;
    }

    /// <summary>
    /// A shard of <paramref name="rows"/> rows whose tokens identify their row: row r, token t holds
    /// (r · rowLength + t) mod 60000, so any slice can be traced back.
    /// </summary>
    public static string WriteNumberedShard(string path, int rows, int rowLength, string fingerprint = "sha256:fake")
    {
        using var w = new TokenShardWriter(path, TokenDType.UInt16, rowLength, Metadata(fingerprint));
        var row = new int[rowLength];
        for (int r = 0; r < rows; r++)
        {
            for (int t = 0; t < rowLength; t++) row[t] = (r * rowLength + t) % 60000;
            w.WriteRow(row);
        }
        w.Complete();
        return path;
    }

    public static TokenShardMetadata Metadata(string fingerprint = "sha256:fake") =>
        new() { TokenizerFingerprint = fingerprint, VocabSize = 65536, Source = "test", Split = "train" };

    /// <summary>Prepares <paramref name="inputs"/> with the fake tokenizer into <c>dir/out</c>.</summary>
    public static DataManifest Prepare(string dir, IReadOnlyList<string> inputs, int seqLen, double holdout = 0, long? holdoutRows = null,
        long seed = 74, ITokenEncoder? tokenizer = null, DocumentSourceOptions? sources = null, string outName = "out") =>
        DataPreparer.Prepare(new DataPrepareOptions
        {
            Inputs = inputs, OutDir = Path.Combine(dir, outName), SeqLen = seqLen, HoldoutFraction = holdout,
            HoldoutRows = holdoutRows, Seed = seed, Sources = sources ?? new(),
        }, tokenizer ?? new FakeTokenizer());
}
