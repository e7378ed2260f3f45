using Deepen.Checkpoints;
using System.Text.Json.Nodes;
using Deepen.Data;
using Deepen.Modeling;
using Deepen.Tokenization;

namespace Deepen.Tests.Evaluation;

/// <summary>
/// Two tiny models with the same tokenizer for end-to-end evaluation: the recurrent fixture <c>ci-tiny</c> ((1,2,1), vocab 384,
/// random weights) and a plain 2-layer Llama made here from its tokenizer (random weights). Deleted when disposed.
/// </summary>
public sealed class EvalModels : IDisposable
{
    private readonly TestPaths.TempDir dir = new();

    public EvalModels()
    {
        var shape = new ModelConfig
        {
            ModelType = "llama", VocabSize = 1, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 2, NumKvHeads = 1,
            HeadDim = 16, RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = 512,
        };
        Plain = dir["plain"];
        ModelFactory.CreatePlain(shape, Recurrent, Plain, seed: 11, std: 0.2);
    }

    /// <summary>The recurrent model directory (ci-tiny).</summary>
    public string Recurrent { get; } = TestPaths.FixtureModel("ci-tiny");

    /// <summary>The plain model directory (its folder name, <c>plain</c>, is its default label).</summary>
    public string Plain { get; }

    /// <summary>
    /// Eight GSM8K-format problems (<c>question</c>, <c>answer</c> ending in <c>#### N</c>) of clearly different lengths,
    /// so batched prompts need different amounts of left padding.
    /// </summary>
    public static string Gsm8k(string path, int count = 8)
    {
        var rows = Enumerable.Range(0, count).Select(i =>
        {
            var filler = string.Concat(Enumerable.Repeat(" Then she counts them again.", i));
            int a = 3 + i, b = 2 * i + 1;
            return new JsonObject
            {
                ["question"] = $"Mia has {a} apples and buys {b} more.{filler} How many apples does she have?",
                ["answer"] = $"She has {a} + {b} = <<{a}+{b}={a + b}>>{a + b} apples.\n#### {a + b}",
            };
        });
        File.WriteAllLines(path, rows.Select(r => r.ToJsonString()));
        return path;
    }

    /// <summary>A held-out token shard of <paramref name="rows"/> rows in <paramref name="dataDir"/>/val.tokens, tagged with ci-tiny's tokenizer.</summary>
    public string ValShard(string dataDir, int rows = 10, int rowLength = 17)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, DataPreparer.ValFile);
        using var tok = TextTokenizer.FromDirectory(Recurrent);
        using var w = new TokenShardWriter(path, TokenDType.UInt16, rowLength,
            new TokenShardMetadata { TokenizerFingerprint = tok.Fingerprint, VocabSize = tok.VocabSize, Source = "EvalModels", Split = "val" });
        var rng = new Random(3);
        var row = new int[rowLength];
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < rowLength; i++) row[i] = rng.Next(tok.VocabSize);
            w.WriteRow(row);
        }
        w.Complete();
        return path;
    }

    public void Dispose() => dir.Dispose();
}
