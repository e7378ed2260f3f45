namespace Deepen.Data;

/// <summary>Which side of the train/test partition a synthetic problem belongs to.</summary>
public enum MathSplit
{
    /// <summary>Training problems.</summary>
    Train,
    /// <summary>Held-out problems; never share a canonical problem with <see cref="Train"/>.</summary>
    Test,
}

/// <summary>How a synthetic problem's answer is written.</summary>
public enum MathAnswerFormat
{
    /// <summary>GSM8K style: one worked line per operation with a <c>&lt;&lt;a*b=c&gt;&gt;</c> annotation, then <c>#### N</c>.</summary>
    ChainOfThought,
    /// <summary>Only <c>#### N</c>: the model must do every step internally.</summary>
    Direct,
}

/// <summary>Settings for <see cref="SyntheticMath.Generate"/>.</summary>
public sealed record SyntheticMathOptions
{
    /// <summary>How many problems to generate.</summary>
    public int Count { get; init; } = 1000;

    /// <summary>The numbers of sequential operations (each 1–8); problem i gets <c>Ops[i % Ops.Count]</c>.</summary>
    public IReadOnlyList<int> Ops { get; init; } = [1, 2, 3, 4, 5, 6, 7, 8];

    /// <summary>Seed of the generator: the same options give the same problems, in the same order.</summary>
    public ulong Seed { get; init; }

    /// <summary>Which split to generate; problems whose canonical form hashes to the other split are rejected.</summary>
    public MathSplit Split { get; init; } = MathSplit.Train;

    /// <summary>Worked steps or the bare final answer.</summary>
    public MathAnswerFormat Format { get; init; } = MathAnswerFormat.ChainOfThought;

    /// <summary>Upper bound on the starting value and every intermediate value (all values are at least 1).</summary>
    public int MaxValue { get; init; } = 10_000;
}
