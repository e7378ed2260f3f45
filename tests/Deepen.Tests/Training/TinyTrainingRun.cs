using Deepen.Data;
using Deepen.Training;

namespace Deepen.Tests.Training;

/// <summary>A tiny training setup: the converted (1,1,1) fixture model and learnable synthetic token shards.</summary>
public static class TinyTrainingRun
{
    public const int Vocab = 96;

    /// <summary>
    /// Writes train/val shards whose rows follow a learnable rule (each row counts up from a random
    /// start modulo a small period), so the loss must fall when training works.
    /// </summary>
    public static string WriteShards(string dir, int trainRows = 96, int valRows = 16, int rowLength = 33, long seed = 1)
    {
        Directory.CreateDirectory(dir);
        var rng = new Random((int)seed);
        void Write(string name, int rows)
        {
            using var w = new TokenShardWriter(Path.Combine(dir, name), TokenDType.UInt16, rowLength,
                new TokenShardMetadata { TokenizerFingerprint = "test-fixture-ids", VocabSize = Vocab, Source = "TinyTrainingRun", Split = name });
            var row = new int[rowLength];
            for (int r = 0; r < rows; r++)
            {
                int start = rng.Next(Vocab), step = 1 + rng.Next(3);
                for (int i = 0; i < rowLength; i++) row[i] = (start + i * step) % Vocab;
                w.WriteRow(row);
            }
            w.Complete();
        }
        Write(DataPreparer.TrainFile, trainRows);
        Write(DataPreparer.ValFile, valRows);
        return dir;
    }

    public static TrainConfig Config(string dataDir, string outDir, int maxSteps) => new()
    {
        Model = TestPaths.FixtureModel("converted-llama-tiny"),
        Out = outDir,
        TrainData = [dataDir],
        MicroBatchSize = 4,
        GradAccumSteps = 2,
        MaxSteps = maxSteps,
        MeanRecurrence = 4,
        BackpropDepth = 2,
        Curriculum = CurriculumShape.Linear,
        CurriculumWarmup = 0.5,
        Warmup = 0.1,
        Cooldown = 0.3,
        Lr = 3e-3,
        MuonLr = 2e-2,
        EvalEvery = 0,
        ValRecurrences = [1, 4],
        ValBatches = 2,
        SaveEvery = 0,
        Threads = 1,
    };
}
