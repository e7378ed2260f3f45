using Deepen.Data;
using Parquet;
using Parquet.Serialization;

namespace Deepen.Tests.Data;

/// <summary>Text, JSONL and Parquet inputs yield the expected documents.</summary>
public class SourceTests
{
    private static List<string?> Texts(DocumentSource s) => s.ReadDocuments().Select(d => d.Text).ToList();

    [Fact]
    public void TextFileSplitsByFileParagraphOrLine()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.txt"], "one\ntwo\n\n\nthree\r\n  \nfour");
        Assert.Equal(["one\ntwo\n\n\nthree\r\n  \nfour"], Texts(new TextFileSource(tmp["a.txt"], DocumentSplit.File)));
        Assert.Equal(["one\ntwo", "three", "four"], Texts(new TextFileSource(tmp["a.txt"], DocumentSplit.Paragraph)));
        Assert.Equal(["one", "two", "three", "four"], Texts(new TextFileSource(tmp["a.txt"], DocumentSplit.Line)));
    }

    [Fact]
    public void FoldersAreReadRecursivelyInOrdinalOrderAndByExtension()
    {
        using var tmp = new TestPaths.TempDir();
        Directory.CreateDirectory(tmp["d/sub"]);
        File.WriteAllText(tmp["d/b.txt"], "B");
        File.WriteAllText(tmp["d/a.txt"], "A");
        File.WriteAllText(tmp["d/sub/c.jsonl"], "{\"text\":\"C\"}\n");
        File.WriteAllText(tmp["d/notes.md"], "ignored");
        var sources = DocumentSource.Open([tmp["d"]], new());
        Assert.Equal(["A", "B", "C"], sources.SelectMany(Texts).ToList());
        Assert.IsType<JsonlSource>(sources[2]);
        var e = Assert.Throws<DeepenException>(() => DocumentSource.Open([tmp["missing"]], new()));
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void JsonlReadsTheChosenFieldAndTokenIdArrays()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.jsonl"], "{\"question\":\"q1\",\"body\":\"first\"}\n\n{\"body\":\"second\"}\n{\"body\":[5,6,7]}\n{\"body\":null}\n");
        var docs = new JsonlSource(tmp["a.jsonl"], "body").ReadDocuments().ToList();
        Assert.Equal("first", docs[0].Text);
        Assert.Equal("second", docs[1].Text);
        Assert.Equal([5, 6, 7], docs[2].Ids!);
        Assert.True(docs[3].IsEmpty);
    }

    [Fact]
    public void JsonlErrorsNameTheFileLineAndField()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.jsonl"], "{\"text\":\"ok\"}\n{\"question\":\"q\",\"answer\":\"a\"}\n");
        var e = Assert.Throws<DeepenException>(() => new JsonlSource(tmp["a.jsonl"], "text").ReadDocuments().ToList());
        Assert.Contains("a.jsonl:2", e.Message);
        Assert.Contains("'text'", e.Message);
        Assert.Contains("question, answer", e.Message);
        File.WriteAllText(tmp["b.jsonl"], "{\"text\":\"ok\"}\n{not json\n");
        e = Assert.Throws<DeepenException>(() => new JsonlSource(tmp["b.jsonl"], "text").ReadDocuments().ToList());
        Assert.Contains("b.jsonl:2", e.Message);
    }

    [Fact]
    public void JsonlDocumentsArePackedWithBosAndEos()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["a.jsonl"], "{\"text\":\"ab\"}\n{\"text\":\"cd\"}\n");
        DataTestKit.Prepare(tmp.Path, [tmp["a.jsonl"]], seqLen: 3);
        var rows = DataTestKit.ReadRows(Path.Combine(tmp.Path, "out", DataPreparer.TrainFile));
        Assert.Equal([[1, 'a', 'b', 2], [1, 'c', 'd', 2]], rows);
    }

    public sealed class TextRow
    {
        public int Id { get; set; }
        public string? Text { get; set; }
    }

    public sealed class IdsRow
    {
        public List<int>? InputIds { get; set; }
    }

    public sealed class LongIdsRow
    {
        public string? Text { get; set; }
        public List<long>? Tokens { get; set; }
    }

    private static void WriteParquet<T>(string path, IEnumerable<T> rows, int rowGroupSize = 2) =>
        ParquetSerializer.SerializeAsync(rows, path, new ParquetOptions { RowGroupSize = rowGroupSize }).GetAwaiter().GetResult();

    [Fact]
    public void ParquetTextColumnAcrossRowGroups()
    {
        using var tmp = new TestPaths.TempDir();
        WriteParquet(tmp["t.parquet"], new[] { "alpha", "beta", null, "gamma", "delta" }.Select((t, i) => new TextRow { Id = i, Text = t }));
        var docs = new ParquetSource(tmp["t.parquet"], column: "Text", textField: "text").ReadDocuments().ToList();
        Assert.Equal(["alpha", "beta", "", "gamma", "delta"], docs.Select(d => d.Text).ToList());
        var e = Assert.Throws<DeepenException>(() => new ParquetSource(tmp["t.parquet"], "body", "text").ReadDocuments().ToList());
        Assert.Contains("no column 'body'", e.Message);
        Assert.Contains("Text", e.Message);
        e = Assert.Throws<DeepenException>(() => new ParquetSource(tmp["t.parquet"], "Id", "text").ReadDocuments().ToList());
        Assert.Contains("expected a string column or a list", e.Message);
    }

    [Fact]
    public void ParquetListOfInt32IsReadAsPreTokenizedDocuments()
    {
        using var tmp = new TestPaths.TempDir();
        var lists = new List<List<int>> { new() { 1, 2, 3 }, new() { 4 }, new(), new() { 5, 6 }, new() { 7, 8, 9, 10 } };
        WriteParquet(tmp["ids.parquet"], lists.Select(l => new IdsRow { InputIds = l }));
        // No --parquet-column: 'text' is absent, so the conventional InputIds name is not found either → named error.
        var e = Assert.Throws<DeepenException>(() => new ParquetSource(tmp["ids.parquet"], null, "text").ReadDocuments().ToList());
        Assert.Contains("InputIds", e.Message);
        var docs = new ParquetSource(tmp["ids.parquet"], "InputIds", "text").ReadDocuments().ToList();
        Assert.Equal(lists.Select(l => l.ToArray()).ToList(), docs.Select(d => d.Ids!).ToList());
        Assert.True(docs[2].IsEmpty);
    }

    [Fact]
    public void ParquetListOfInt64AndTextPackAsExpected()
    {
        using var tmp = new TestPaths.TempDir();
        WriteParquet(tmp["m.parquet"], new[]
        {
            new LongIdsRow { Text = "ab", Tokens = [100, 101, 102] },
            new LongIdsRow { Text = "c", Tokens = [103, 104, 105, 106, 107] },
        });
        // Token ids are packed as they are (no BOS/EOS): 8 ids → 2 rows of 4.
        DataTestKit.Prepare(tmp.Path, [tmp["m.parquet"]], seqLen: 3, sources: new(ParquetColumn: "Tokens"), outName: "ids");
        Assert.Equal([[100, 101, 102, 103], [104, 105, 106, 107]], DataTestKit.ReadRows(Path.Combine(tmp.Path, "ids", DataPreparer.TrainFile)));
        // The text column of the same file: [1 a b 2][1 c 2] → 7 tokens → 1 row of 4 (3 dropped).
        var m = DataTestKit.Prepare(tmp.Path, [tmp["m.parquet"]], seqLen: 3, sources: new(TextField: "Text"), outName: "text");
        Assert.Equal([[1, 'a', 'b', 2]], DataTestKit.ReadRows(Path.Combine(tmp.Path, "text", DataPreparer.TrainFile)));
        Assert.Equal(3, m.DroppedTokens);
    }
}
