using System.Text.Json;
using Deepen.Data;

namespace Deepen.Training;

/// <summary>
/// Where a run stands after <see cref="Step"/> optimizer steps: everything besides the weights and the
/// optimizer state that an exact resume needs. Random draws (recurrence, initial-state noise, data
/// order) are functions of the step and the seed, so no generator state is stored.
/// </summary>
/// <param name="WorldSize">Ranks that trained it (data parallel; 1 for one process).</param>
/// <param name="RankStreams">With a sequence-length schedule on several ranks: each rank's token stream cursor, by rank (<see cref="Stream"/> is rank 0's).</param>
public sealed record TrainerState(long Step, long Tokens, double TrainFlops, TokenLoaderState Data, double ElapsedSeconds, StreamCursor? Stream = null,
    int WorldSize = 1, IReadOnlyList<StreamCursor>? RankStreams = null)
{
    public const string FileName = "trainer_state.json";
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public void Save(string dir) => File.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, Json));

    public static TrainerState Load(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new DeepenException($"{path}: missing; not a training checkpoint.");
        try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new DeepenException($"{path}: not a valid trainer state ({e.Message}).", e); }
    }
}
