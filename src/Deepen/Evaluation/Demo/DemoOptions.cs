namespace Deepen.Evaluation.Demo;

/// <summary>
/// What <c>deepen demo</c> runs. <see cref="Full"/> takes about 15 minutes on 2 cores, <see cref="QuickRun"/>
/// under 3; tests shrink the sizes further.
/// </summary>
public sealed record DemoOptions
{
    /// <summary>The plain base model to retrofit (default: the shipped models/tiny-base).</summary>
    public required string BaseModel { get; init; }
    public required string Out { get; init; }
    public bool Quick { get; init; }
    public int Threads { get; init; } = 2;
    public Action<string> Log { get; init; } = Console.WriteLine;
    public CancellationToken Cancel { get; init; }

    /// <summary>Optimizer steps of the recurrent runs (the static baseline gets as many as equal FLOPs allow).</summary>
    public int Steps { get; init; } = 150;
    public int TrainProblems { get; init; } = 20_000;
    public int TestProblems { get; init; } = 200;
    public IReadOnlyList<int> TestRecurrences { get; init; } = [1, 2, 4, 8, 16];
    public IReadOnlyList<int> Ops { get; init; } = [1, 2, 3, 4];
    public int TrainRecurrence { get; init; } = 4;
    public int BackpropDepth { get; init; } = 4;
    public int SeqLen { get; init; } = 128;
    public int MicroBatch { get; init; } = 16;
    /// <summary>Also train without the curriculum, for claim 3.</summary>
    public bool RunNoCurriculum { get; init; } = true;

    public static DemoOptions Full(string baseModel, string outDir) => new() { BaseModel = baseModel, Out = outDir };

    public static DemoOptions QuickRun(string baseModel, string outDir) => new()
    {
        BaseModel = baseModel, Out = outDir, Quick = true, Steps = 16, TrainProblems = 2_000, TestProblems = 40,
        TestRecurrences = [1, 2, 4, 8], RunNoCurriculum = false,
    };
}
