using Deepen.Tokenization;
using Deepen.Training;

namespace Deepen.Cli;

/// <summary>
/// What the verbs call that a test may replace, handed to <see cref="DeepenCli.Build"/> instead of kept in settable
/// statics: tests build their own tree with fakes, and no test can leak its fake into another running beside it.
/// </summary>
public sealed record CliServices
{
    /// <summary>The trainer <c>deepen train</c> runs.</summary>
    public Func<TrainConfig, TrainRunOptions, TrainResult> RunTrainer { get; init; } = Trainer.Run;

    /// <summary>Opens the tokenizer of a model or tokenizer directory (<c>deepen data prepare</c>).</summary>
    public Func<string, ITokenEncoder> OpenTokenizer { get; init; } = dir => TextTokenizer.FromDirectory(dir);

    /// <summary>The real ones.</summary>
    public static CliServices Default { get; } = new();
}
