namespace Deepen.Data;

/// <summary>Everything <see cref="DataPreparer.Prepare"/> needs besides the tokenizer; the fields equal the CLI flags.</summary>
public sealed record DataPrepareOptions
{
    /// <summary>Files and folders to read (<c>--input</c>), in order.</summary>
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>Output folder (<c>--out</c>): train.tokens, val.tokens, manifest.json.</summary>
    public required string OutDir { get; init; }

    /// <summary>Model sequence length; stored rows have <c>SeqLen + 1</c> tokens (inputs and shifted labels).</summary>
    public int SeqLen { get; init; } = 1024;

    /// <summary>How inputs are cut into documents.</summary>
    public DocumentSourceOptions Sources { get; init; } = new();

    /// <summary>Fraction of rows held out for validation (<c>--holdout</c>); ignored when <see cref="HoldoutRows"/> is set.</summary>
    public double HoldoutFraction { get; init; } = 0.01;

    /// <summary>Exact number of held-out rows (<c>--holdout-rows</c>).</summary>
    public long? HoldoutRows { get; init; }

    /// <summary>Seed that chooses the held-out rows (<c>--seed</c>); recorded in the shards.</summary>
    public long Seed { get; init; } = 74;

    /// <summary>Documents encoded in parallel (<c>--threads</c>); only for a tokenizer that is safe to call from several threads.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>The command line, recorded in the manifest.</summary>
    public string? Command { get; init; }

    /// <summary>Progress lines; null for none.</summary>
    public Action<string>? Log { get; init; }
}
