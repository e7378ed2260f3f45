using Deepen.Data;

namespace Deepen.Recipes;

/// <summary>
/// The problems the demo trains and tests on: a family of direct-answer problems with a difficulty (the chain's length),
/// the shipped base model that does their one step, the lengths trained and tested on, and the words the report uses.
/// Both families answer with one digit, so only depth of computation decides them.
/// </summary>
public sealed record DemoTask
{
    /// <summary>The name of <c>deepen demo --task</c>.</summary>
    public required string Name { get; init; }
    /// <summary>What the difficulty counts, plural ("operations", "hops").</summary>
    public required string Unit { get; init; }
    /// <summary>What a problem is, for the report: the family and one example with its answer.</summary>
    public required string Description { get; init; }
    /// <summary>The accuracy of a model that guesses as well as the format allows.</summary>
    public required double Chance { get; init; }
    /// <summary>The text that opens each answer (<c>loss_on: answer</c>).</summary>
    public required string AnswerMarker { get; init; }
    /// <summary>The base model the demo retrofits by default, relative to the repository root.</summary>
    public required string DefaultBase { get; init; }
    /// <summary>The recipe that makes <see cref="DefaultBase"/> (<c>deepen pretrain --config …</c>).</summary>
    public required string BaseRecipe { get; init; }
    public required IReadOnlyList<int> TrainLengths { get; init; }
    /// <summary>The trained lengths and longer ones (easy-to-hard generalisation).</summary>
    public required IReadOnlyList<int> TestLengths { get; init; }
    /// <summary>Optimizer steps of the demo's recurrent runs (about the same wall time for either task's base).</summary>
    public int Steps { get; init; } = 300;
    /// <summary>(count, lengths cycled through, seed, split) → problems.</summary>
    public required Func<int, IReadOnlyList<int>, ulong, ChainSplit, IEnumerable<ChainProblem>> Generate { get; init; }

    /// <summary>Chains of operations modulo 10 (<see cref="ModChain"/>), answered directly.</summary>
    public static DemoTask Chains { get; } = new()
    {
        Name = "chains", Unit = "operations", Chance = 0.1, AnswerMarker = ModChain.AnswerMarker, DefaultBase = "models/tiny-base-chains", BaseRecipe = "configs/tiny-base-chains.yaml",
        Description = "chains of operations modulo 10 (`mod 10: 7 +3 *9 -4 =` → ` 2`)",
        TrainLengths = [1, 2, 3, 4, 5, 6, 7, 8], TestLengths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        Generate = (count, lengths, seed, split) => ModChain.Generate(new ModChainOptions { Count = count, Ops = lengths, Seed = seed, Split = split, Distinct = split != ChainSplit.Train }),
    };

    /// <summary>Variable look-ups several hops deep among three shuffled chains (<see cref="VariableHops"/>).</summary>
    public static DemoTask Hops { get; } = new()
    {
        Name = "hops", Unit = "hops", Chance = 1.0 / 3, AnswerMarker = VariableHops.AnswerMarker, DefaultBase = "models/tiny-base-lookup", BaseRecipe = "configs/tiny-base-lookup.yaml",
        Description = "variable look-ups among three shuffled chains (`find k:m=z;o=3;w=8;k=o;z=5;q=w.k?` → `3`: two hops)",
        TrainLengths = [1, 2, 3, 4], TestLengths = [1, 2, 3, 4, 5, 6, 7, 8],
        Generate = (count, lengths, seed, split) => VariableHops.Generate(new VariableHopsOptions { Count = count, Hops = lengths, Seed = seed, Split = split, Chains = 3 }),
    };

    public static IReadOnlyList<DemoTask> All { get; } = [Chains, Hops];

    /// <summary>The task named <paramref name="name"/>, or an error listing the names.</summary>
    public static DemoTask Parse(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new DeepenException($"demo task '{name}'; expected one of {string.Join(", ", All.Select(t => t.Name))}.");
}
