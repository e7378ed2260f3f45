// TEMPORARY STUB so the train verb compiles on the 'trainconfig' branch before the real Trainer lands.
// Delete this file when merging src/Deepen/Training/Trainer.cs (same types, same signatures).
namespace Deepen.Training;

/// <summary>How <see cref="Trainer.Run"/> is driven (stub; see Trainer.cs).</summary>
public sealed record TrainRunOptions
{
    /// <summary>null = fresh run, "auto" = latest complete checkpoint in Out, or a checkpoint directory.</summary>
    public string? Resume { get; init; }
    /// <summary>Testing aid: SIGKILL this process right after that step's checkpoint is complete.</summary>
    public int? KillAfterStep { get; init; }
    /// <summary>Progress lines.</summary>
    public Action<string> Log { get; init; } = Console.WriteLine;
    /// <summary>Cancelled by Ctrl-C: save a checkpoint at the end of the current step and return.</summary>
    public CancellationToken Cancel { get; init; }
    /// <summary>Recorded in the run directory.</summary>
    public string? CommandLine { get; init; }
}

/// <summary>What a run did (stub; see Trainer.cs).</summary>
public sealed record TrainResult(int StepsDone, bool Stopped, string Reason, string FinalDir);

/// <summary>The training entry point (stub; see Trainer.cs).</summary>
public static class Trainer
{
    /// <summary>Stub: the real trainer is merged separately.</summary>
    public static TrainResult Run(TrainConfig config, TrainRunOptions options) =>
        throw new DeepenException("the trainer is not part of this build yet (TrainerEntryPoint.Stub.cs).");
}
