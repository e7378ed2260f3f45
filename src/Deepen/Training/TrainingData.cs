using Deepen.Data;
using Deepen.Tokenization;

namespace Deepen.Training;

/// <summary>The token shards a run reads, and the tokenizer fingerprint they must carry.</summary>
public sealed record TrainingShards(IReadOnlyList<string> Train, IReadOnlyList<string> Val, string? Fingerprint);

/// <summary>
/// Resolves <c>train_data</c>/<c>val_data</c>: token shards are used as they are; raw text, JSONL or Parquet
/// inputs are tokenized once with the model's tokenizer into <c>OUT/data/</c> (reused on resume).
/// </summary>
public static class TrainingData
{
    public static TrainingShards Resolve(TrainConfig c, Action<string> log)
    {
        string? fingerprint = ModelFingerprint(c.Model, log);
        var named = c.TrainData.Select(p => ShardsIn(p).ToList()).ToList();
        List<string> train, val;
        if (named.All(n => n.Count > 0))
        {
            train = named.SelectMany(n => n).ToList();
            val = c.ValData.Count > 0 ? c.ValData.SelectMany(ShardsIn).ToList() : SiblingVal(c.TrainData);
        }
        else if (named.Any(n => n.Count > 0))
            throw new DeepenException("train_data mixes token shards and raw inputs; give one kind (prepare raw inputs with `deepen data prepare` to combine them).");
        else
        {
            var dataDir = Path.Combine(c.Out, "data");
            if (!File.Exists(Path.Combine(dataDir, DataPreparer.ManifestFile)))
            {
                using var tok = TextTokenizer.FromDirectory(c.Model);
                log($"preparing {string.Join(", ", c.TrainData)} with {c.Model}'s tokenizer → {dataDir} (seq_len {c.SeqLen})");
                DataPreparer.Prepare(new DataPrepareOptions
                {
                    Inputs = c.TrainData,
                    OutDir = dataDir,
                    SeqLen = c.SeqLen,
                    Sources = new DocumentSourceOptions(TextField: c.TextField),
                    Seed = c.Seed,
                    Log = log,
                }, tok);
            }
            train = [Path.Combine(dataDir, DataPreparer.TrainFile)];
            val = c.ValData.Count > 0 ? c.ValData.SelectMany(ShardsIn).ToList() : [Path.Combine(dataDir, DataPreparer.ValFile)];
        }
        val = val.Where(File.Exists).ToList();
        if (val.Count == 0) log("no held-out shard found: validation is skipped (give val_data to enable it)");
        return new TrainingShards(train, val, fingerprint);
    }

    /// <summary>.tokens files named by <paramref name="path"/>: the file itself, or a folder's train.tokens / *.tokens.</summary>
    private static IEnumerable<string> ShardsIn(string path)
    {
        if (File.Exists(path)) return path.EndsWith(".tokens", StringComparison.Ordinal) ? [path] : [];
        if (!Directory.Exists(path)) throw new DeepenException($"train_data/val_data: '{path}' does not exist.");
        var train = Path.Combine(path, DataPreparer.TrainFile);
        if (File.Exists(train)) return [train];
        return Directory.GetFiles(path, "*.tokens").Order(StringComparer.Ordinal);
    }

    private static List<string> SiblingVal(IReadOnlyList<string> trainData) =>
        trainData.Select(p => Directory.Exists(p) ? Path.Combine(p, DataPreparer.ValFile) : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(p))!, DataPreparer.ValFile))
            .Where(File.Exists).Distinct().ToList();

    private static string? ModelFingerprint(string modelDir, Action<string> log)
    {
        bool has = File.Exists(Path.Combine(modelDir, TextTokenizer.TokenizerJsonFileName)) || File.Exists(Path.Combine(modelDir, TextTokenizer.SentencePieceFileName));
        if (!has)
        {
            log($"{modelDir} has no tokenizer: the token shards' tokenizer cannot be checked");
            return null;
        }
        using var tok = TextTokenizer.FromDirectory(modelDir);
        return tok.Fingerprint;
    }
}
