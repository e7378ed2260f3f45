using Deepen.Training.Distributed;

namespace Deepen.Training;

/// <summary>How a training run is driven (as opposed to what it trains: <see cref="TrainConfig"/>).</summary>
public sealed record TrainRunOptions
{
    /// <summary>null = a fresh run (refused if the run directory has checkpoints); "auto" = the newest complete checkpoint; or a checkpoint directory.</summary>
    public string? Resume { get; init; }
    /// <summary>Called on every rank with the step once that step's checkpoint is complete (after a barrier, so rank 0 has
    /// written it); null = nothing. The CLI's hidden <c>--kill-after-step</c> kills the process here for the resume test.</summary>
    public Action<long>? AfterCheckpoint { get; init; }
    /// <summary>Where the one-line-per-step log goes (rank 0's only).</summary>
    public Action<string> Log { get; init; } = Console.WriteLine;
    /// <summary>Called after every optimizer step with (step, max_steps), rank 0 only: for a progress bar.</summary>
    public Action<long, long>? Progress { get; init; }
    /// <summary>Cancelled by Ctrl-C: save a checkpoint at the end of the current step and return. On several ranks, one rank's cancellation stops them all at the same step.</summary>
    public CancellationToken Cancel { get; init; }
    /// <summary>The command line, recorded in the run directory.</summary>
    public string? CommandLine { get; init; }
    /// <summary>
    /// The data-parallel ranks (<see cref="DistributedLaunch.FromEnvironment"/>): each rank trains on its own shard
    /// of every batch, gradients are averaged over ranks before clipping, and rank 0 alone logs and writes
    /// metrics, checkpoints and the final model. One process by default.
    /// </summary>
    public ICollective Collective { get; init; } = SingleProcessCollective.Instance;
    /// <summary>Bytes per gradient all-reduce bucket.</summary>
    public long BucketBytes { get; init; } = GradientAllReducer.DefaultBucketBytes;
    /// <summary>This process's rank (<see cref="Collective"/>'s).</summary>
    public int Rank => Collective.Rank;
    /// <summary>The number of ranks (<see cref="Collective"/>'s).</summary>
    public int WorldSize => Collective.WorldSize;
}

/// <summary>How a run ended.</summary>
/// <param name="StepsDone">Optimizer steps completed in total (including those before a resume).</param>
/// <param name="Stopped">True when the run ended before max_steps (interrupt, NaN loss, data exhausted).</param>
/// <param name="Reason">Why it ended, in words.</param>
/// <param name="FinalDir">The final model directory, or the last checkpoint when stopped early.</param>
public sealed record TrainResult(int StepsDone, bool Stopped, string Reason, string FinalDir);
