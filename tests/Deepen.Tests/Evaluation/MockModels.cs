using Deepen.Evaluation;
using Deepen.Inference;

namespace Deepen.Tests.Evaluation;

/// <summary>A model that answers each prompt with a scripted function; it records every call.</summary>
internal sealed class ScriptedModel(Func<string, string> answer, string name = "scripted") : ILanguageModel
{
    public string Name => name;
    public List<(IReadOnlyList<string> Prompts, GenerationRequest Request)> GenerateCalls { get; } = [];
    public List<IReadOnlyList<(string Context, string Continuation)>> LogLikelihoodCalls { get; } = [];

    /// <summary>Tokens = whitespace-separated words of the full (uncut) answer, so the count is checkable.</summary>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<string> prompts, GenerationRequest request)
    {
        GenerateCalls.Add((prompts, request));
        return prompts.Select(p => answer(p)).Select(t => new GenerationResult(t, Words(t), FinishReason.Length)).ToList();
    }

    public IReadOnlyList<LogLikelihoodResult> LogLikelihood(IReadOnlyList<(string Context, string Continuation)> requests) =>
        throw new NotSupportedException("ScriptedModel only generates.");

    public static int Words(string t) => t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}

/// <summary>A model whose log-likelihoods come from a table keyed by continuation.</summary>
internal sealed class TableModel(Func<string, string, double> logProb, string name = "table") : ILanguageModel
{
    public string Name => name;
    public int Calls { get; private set; }

    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<string> prompts, GenerationRequest request) =>
        throw new NotSupportedException("TableModel only scores.");

    public IReadOnlyList<LogLikelihoodResult> LogLikelihood(IReadOnlyList<(string Context, string Continuation)> requests)
    {
        Calls++;
        return requests.Select(r => LogLikelihoodResult.For(r.Continuation, logProb(r.Context, r.Continuation), ScriptedModel.Words(r.Continuation))).ToList();
    }
}
