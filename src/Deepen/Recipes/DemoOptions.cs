using Deepen.Conversion;
using Deepen.Data;
using Deepen.Training;

namespace Deepen.Recipes;

/// <summary>
/// What <c>deepen demo</c> runs. <see cref="Full"/> is sized for about 15 minutes on 2 idle cores, <see cref="QuickRun"/>
/// for under 3; tests shrink the sizes further. <see cref="Seed"/> drives every random choice: the training and test
/// problems, the adapter's initialisation, the data order, the recurrence draws' noise and the evaluation's initial states.
/// </summary>
public sealed record DemoOptions
{
    /// <summary>The problems trained and tested on.</summary>
    public DemoTask Task { get; init; } = DemoTask.Chains;
    /// <summary>The plain base model to retrofit (default: the task's shipped base, e.g. models/tiny-base-chains).</summary>
    public required string BaseModel { get; init; }
    public required string Out { get; init; }
    public bool Quick { get; init; }
    public int Threads { get; init; } = 2;
    /// <summary>The compute device, as <c>--device</c> / the <c>device:</c> key write it (cpu, cuda, cuda:N); empty: cuda when present, else cpu.</summary>
    public string Device { get; init; } = "";
    public Action<string> Log { get; init; } = Console.WriteLine;
    /// <summary>Progress of long stages: (stage, done, total); the CLI draws it as a bar on a terminal.</summary>
    public Action<string, long, long>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }

    /// <summary>The seed of everything random in the run (fixed before results are looked at; the report names it).</summary>
    public long Seed { get; init; }

    /// <summary>Optimizer steps of the recurrent runs (the static baseline gets as many as equal FLOPs allow).</summary>
    public int Steps { get; init; } = 300;
    public int TrainProblems { get; init; } = 60_000;
    /// <summary>The split the held-out problems come from: <see cref="ChainSplit.Test"/> for the demo's figures,
    /// <see cref="ChainSplit.Validation"/> for choosing settings without looking at the test problems.</summary>
    public ChainSplit EvalSplit { get; init; } = ChainSplit.Test;
    /// <summary>Held-out problems asked for, cycling through <see cref="TestOps"/>; the shortest chains stop at what their split holds.</summary>
    public int TestProblems { get; init; } = 1_300;
    public IReadOnlyList<int> TestRecurrences { get; init; } = [1, 2, 4, 8, 16];
    /// <summary>Chain lengths trained on (default: the task's).</summary>
    public IReadOnlyList<int> TrainOps { get; init; } = DemoTask.Chains.TrainLengths;
    /// <summary>Chain lengths tested on: the trained ones and longer ones (easy-to-hard generalisation; default: the task's).</summary>
    public IReadOnlyList<int> TestOps { get; init; } = DemoTask.Chains.TestLengths;
    public int TrainRecurrence { get; init; } = 4;
    public int BackpropDepth { get; init; } = 4;
    public int SeqLen { get; init; } = 128;
    public int MicroBatch { get; init; } = 16;
    public double Lr { get; init; } = 1e-3;
    public double MuonLr { get; init; } = 5e-3;
    /// <summary>all or answer (<c>loss_on</c> of <c>deepen train</c>): which tokens the training loss covers.</summary>
    public LossTokens LossOn { get; init; } = LossTokens.Answer;
    /// <summary>The adapter's initialisation at conversion: [0 | I] by default (measured: the paper's random init erased the
    /// base's one-step skill in the demo's budget, see docs/results.md), or the paper's default.</summary>
    public AdapterInit AdapterInit { get; init; } = AdapterInit.Identity;
    /// <summary>The recurrent shape (P,R,C) by the paper's rule (<see cref="LayerPlan.FromShape"/>: the first P layers, the R
    /// before the last C, the last C; the layers between are dropped); null: (L/4, L/2, L/4) of the base's L layers, none dropped.</summary>
    public (int P, int R, int C)? Shape { get; init; }
    /// <summary>Also train without the curriculum, for claim 3.</summary>
    public bool RunNoCurriculum { get; init; } = true;

    public static DemoOptions Full(string baseModel, string outDir, DemoTask? task = null)
    {
        task ??= DemoTask.Chains;
        return new() { BaseModel = baseModel, Out = outDir, Task = task, TrainOps = task.TrainLengths, TestOps = task.TestLengths, Steps = task.Steps };
    }

    public static DemoOptions QuickRun(string baseModel, string outDir, DemoTask? task = null) => Full(baseModel, outDir, task) with
    {
        Quick = true, Steps = 30, TrainProblems = 6_000, TestProblems = 240,
        TestRecurrences = [1, 2, 4, 8], RunNoCurriculum = false,
    };
}
