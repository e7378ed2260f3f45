namespace Deepen.Training;

/// <summary>How a training run is driven (as opposed to what it trains: <see cref="TrainConfig"/>).</summary>
public sealed record TrainRunOptions
{
    /// <summary>null = a fresh run (refused if the run directory has checkpoints); "auto" = the newest complete checkpoint; or a checkpoint directory.</summary>
    public string? Resume { get; init; }
    /// <summary>Testing aid: SIGKILL this process right after that step's checkpoint is complete.</summary>
    public int? KillAfterStep { get; init; }
    /// <summary>Where the one-line-per-step log goes.</summary>
    public Action<string> Log { get; init; } = Console.WriteLine;
    /// <summary>Cancelled by Ctrl-C: save a checkpoint at the end of the current step and return.</summary>
    public CancellationToken Cancel { get; init; }
    /// <summary>The command line, recorded in the run directory.</summary>
    public string? CommandLine { get; init; }
    /// <summary>Data-parallel rank and world size (1 process: 0 and 1).</summary>
    public int Rank { get; init; }
    public int WorldSize { get; init; } = 1;
    /// <summary>Averages gradients across ranks before clipping (null for a single process).</summary>
    public Action<IReadOnlyList<TorchSharp.Modules.Parameter>>? AllReduceGradients { get; init; }
}

/// <summary>How a run ended.</summary>
/// <param name="StepsDone">Optimizer steps completed in total (including those before a resume).</param>
/// <param name="Stopped">True when the run ended before max_steps (interrupt, NaN loss, data exhausted).</param>
/// <param name="Reason">Why it ended, in words.</param>
/// <param name="FinalDir">The final model directory, or the last checkpoint when stopped early.</param>
public sealed record TrainResult(int StepsDone, bool Stopped, string Reason, string FinalDir);
