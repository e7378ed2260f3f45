using System.Diagnostics;
using System.Text.Json;
using Deepen.Checkpoints;
using Deepen.Tokenization;

namespace Deepen.Data;

/// <summary>
/// Tokenize and pack (method.md §7): every text document becomes <c>Encode(text, addSpecialTokens: true)</c>
/// (so BOS where the tokenizer adds one) followed by EOS; pre-tokenized documents are taken as they are.
/// The documents are concatenated and cut into rows of <c>seq_len + 1</c> tokens ("wrapped" packing); the
/// final partial row is dropped. A seeded choice of rows goes to <c>val.tokens</c>, the rest, in order, to
/// <c>train.tokens</c>; <c>manifest.json</c> records counts, the tokenizer fingerprint and the command.
/// </summary>
public static class DataPreparer
{
    public const string TrainFile = "train.tokens";
    public const string ValFile = "val.tokens";
    public const string ManifestFile = "manifest.json";

    private const int ChunkDocuments = 512;
    private const long ChunkChars = 4 << 20;

    public static DataManifest Prepare(DataPrepareOptions options, ITokenEncoder tokenizer)
    {
        var clock = Stopwatch.StartNew();
        Validate(options, tokenizer);
        int eos = tokenizer.EosId!.Value;
        int rowLength = options.SeqLen + 1;
        var dtype = TokenDTypes.ForVocabulary(tokenizer.VocabSize);
        var sources = DocumentSource.Open(options.Inputs, options.Sources);
        Directory.CreateDirectory(options.OutDir);
        var log = options.Log ?? (_ => { });

        // Pass 1: tokenize and pack every row, in order, into a temporary file of raw rows.
        var rowsPath = Path.Combine(options.OutDir, $"rows.tmp-{Environment.ProcessId}");
        try
        {
            var sourceInfos = new List<DataSourceInfo>();
            long documents = 0, skipped = 0;
            WrappedRowPacker packer;
            using (var rows = new FileStream(rowsPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var rowBytes = new byte[(long)rowLength * dtype.Bytes()];
                string current = "";
                packer = new WrappedRowPacker(rowLength, row =>
                {
                    TokenRowCodec.Encode(row, dtype, rowBytes, current);
                    rows.Write(rowBytes);
                });
                foreach (var source in sources)
                {
                    current = source.Description;
                    long tokensBefore = packer.Tokens, docs = 0;
                    foreach (var chunk in Chunks(source.ReadDocuments()))
                    {
                        var encoded = EncodeChunk(chunk, tokenizer, options.Threads);
                        for (int i = 0; i < chunk.Count; i++)
                        {
                            if (chunk[i].IsEmpty) { skipped++; continue; }
                            packer.Add(encoded[i]);
                            if (chunk[i].Text is not null) packer.Add(eos);
                            docs++;
                        }
                    }
                    documents += docs;
                    sourceInfos.Add(new DataSourceInfo(source.Description, docs, packer.Tokens - tokensBefore));
                    log($"read {source.Description}: {docs} documents, {packer.Tokens - tokensBefore} tokens");
                }
            }
            long rowCount = packer.Rows;
            if (rowCount == 0)
                throw new DeepenException($"the inputs produced {packer.Tokens} tokens, fewer than one row of {rowLength} (`seq_len` {options.SeqLen} + 1).");

            // Pass 2: choose the held-out rows by seed and split the rows into the two shards.
            long holdout = HoldoutCount(options, rowCount);
            var isVal = new bool[rowCount];
            var perm = DeterministicShuffle.Permutation(rowCount, options.Seed);
            for (long i = 0; i < holdout; i++) isVal[perm[i]] = true;

            string sourceText = string.Join("; ", sourceInfos.Take(20).Select(s => s.Source))
                + (sourceInfos.Count > 20 ? $"; ... and {sourceInfos.Count - 20} more (see manifest.json)" : "");
            TokenShardMetadata Meta(string split) => new()
            {
                TokenizerFingerprint = tokenizer.Fingerprint, VocabSize = tokenizer.VocabSize,
                BosId = tokenizer.BosId, EosId = tokenizer.EosId, Source = sourceText, Seed = options.Seed, Split = split,
            };
            var trainPath = Path.Combine(options.OutDir, TrainFile);
            var valPath = Path.Combine(options.OutDir, ValFile);
            using (var train = new TokenShardWriter(trainPath, dtype, rowLength, Meta("train")))
            using (var val = new TokenShardWriter(valPath, dtype, rowLength, Meta("val")))
            using (var rows = new FileStream(rowsPath, FileMode.Open, FileAccess.Read, FileShare.None, 1 << 20))
            {
                var buffer = new byte[(long)rowLength * dtype.Bytes()];
                for (long r = 0; r < rowCount; r++)
                {
                    rows.ReadExactly(buffer);
                    (isVal[r] ? val : train).WriteRowBytes(buffer);
                }
                train.Complete();
                val.Complete();
            }

            var manifest = new DataManifest
            {
                Command = options.Command,
                TokenizerFingerprint = tokenizer.Fingerprint, VocabSize = tokenizer.VocabSize,
                BosId = tokenizer.BosId, EosId = tokenizer.EosId,
                Dtype = dtype.Name(), SeqLen = options.SeqLen, RowLength = rowLength,
                DroppedTokens = packer.Pending, Seed = options.Seed,
                HoldoutFraction = options.HoldoutRows is null ? options.HoldoutFraction : null,
                HoldoutRowsRequested = options.HoldoutRows,
                DocSplit = options.Sources.DocSplit.ToString().ToLowerInvariant(),
                TextField = options.Sources.TextField, ParquetColumn = options.Sources.ParquetColumn,
                Documents = documents, EmptyDocumentsSkipped = skipped, Tokens = packer.Tokens,
                Train = new DataSplitInfo(TrainFile, rowCount - holdout, (rowCount - holdout) * rowLength),
                Val = new DataSplitInfo(ValFile, holdout, holdout * rowLength),
                Sources = sourceInfos,
                ElapsedSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            };
            AtomicFile.WriteAllText(Path.Combine(options.OutDir, ManifestFile), JsonSerializer.Serialize(manifest, DataManifest.Json) + "\n");
            log($"wrote {trainPath} ({manifest.Train.Rows} rows) and {valPath} ({manifest.Val.Rows} rows) of {rowLength} {dtype.Name()} tokens; " +
                $"{documents} documents, {packer.Tokens} tokens ({packer.Pending} in the dropped final partial row) in {clock.Elapsed.TotalSeconds:F1} s");
            return manifest;
        }
        finally
        {
            if (File.Exists(rowsPath)) File.Delete(rowsPath);
        }
    }

    private static void Validate(DataPrepareOptions o, ITokenEncoder tokenizer)
    {
        if (o.SeqLen < 1) throw DeepenException.BadSetting("seq_len", $"{o.SeqLen}: must be at least 1.");
        if (o.HoldoutRows is < 0) throw DeepenException.BadSetting("holdout_rows", $"{o.HoldoutRows}: must be ≥ 0.");
        if (o.HoldoutRows is null && !(o.HoldoutFraction >= 0 && o.HoldoutFraction < 1))
            throw DeepenException.BadSetting("holdout", $"{o.HoldoutFraction}: must be a fraction in [0, 1).");
        if (o.Threads < 1) throw DeepenException.BadSetting("threads", $"{o.Threads}: must be at least 1.");
        if (tokenizer.EosId is null)
            throw new DeepenException("the tokenizer has no EOS token; packing appends EOS to every document to separate them.");
        if (tokenizer.VocabSize < 1) throw new DeepenException($"the tokenizer reports a vocabulary of {tokenizer.VocabSize}.");
    }

    /// <summary>Rows to hold out: exact with --holdout-rows, else round(fraction × rows) and at least one when the fraction is positive.</summary>
    public static long HoldoutCount(DataPrepareOptions o, long rowCount)
    {
        long k = o.HoldoutRows ?? (o.HoldoutFraction > 0 ? Math.Max(1, (long)Math.Round(o.HoldoutFraction * rowCount, MidpointRounding.AwayFromZero)) : 0);
        if (k >= rowCount)
            throw new DeepenException($"holding out {k} of {rowCount} rows would leave no training rows; lower `holdout` / `holdout_rows` or add data.");
        return k;
    }

    private static IEnumerable<List<SourceDocument>> Chunks(IEnumerable<SourceDocument> documents)
    {
        var chunk = new List<SourceDocument>(ChunkDocuments);
        long chars = 0;
        foreach (var doc in documents)
        {
            chunk.Add(doc);
            chars += doc.Text?.Length ?? 0;
            if (chunk.Count == ChunkDocuments || chars >= ChunkChars)
            {
                yield return chunk;
                chunk = new List<SourceDocument>(ChunkDocuments);
                chars = 0;
            }
        }
        if (chunk.Count > 0) yield return chunk;
    }

    private static int[][] EncodeChunk(List<SourceDocument> chunk, ITokenEncoder tokenizer, int threads)
    {
        var encoded = new int[chunk.Count][];
        void EncodeOne(int i)
        {
            var doc = chunk[i];
            encoded[i] = doc.IsEmpty ? [] : doc.Text is { } text ? tokenizer.Encode(text, addSpecialTokens: true) : doc.Ids!;
        }
        if (threads == 1) for (int i = 0; i < chunk.Count; i++) EncodeOne(i);
        else Parallel.For(0, chunk.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, EncodeOne);
        return encoded;
    }
}
