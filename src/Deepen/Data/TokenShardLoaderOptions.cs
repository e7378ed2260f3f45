namespace Deepen.Data;

/// <summary>Settings of a <see cref="TokenShardLoader"/>.</summary>
public sealed record TokenShardLoaderOptions
{
    /// <summary>Rows per rank per batch (the micro-batch B).</summary>
    public required int BatchSize { get; init; }

    /// <summary>Shuffle seed: epoch e uses seed + e.</summary>
    public long Seed { get; init; } = 74;

    /// <summary>This process's rank r in [0, <see cref="WorldSize"/>).</summary>
    public int Rank { get; init; }

    /// <summary>Number of ranks W; each global batch has B × W rows.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>What to do at the end of the data (<c>--on-end</c>).</summary>
    public DataEndAction OnEnd { get; init; } = DataEndAction.Wrap;

    /// <summary>The model tokenizer's fingerprint; every shard must have been made with it. Null skips the check.</summary>
    public string? ExpectedFingerprint { get; init; }

    /// <summary>Where the end-of-data line goes; default standard error (it is never silent).</summary>
    public Action<string> Log { get; init; } = Console.Error.WriteLine;
}
