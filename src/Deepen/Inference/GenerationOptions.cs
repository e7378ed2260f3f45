using Deepen.Models;

namespace Deepen.Inference;

/// <summary>Everything that shapes one generation call.</summary>
public sealed record GenerationOptions
{
    /// <summary>At most this many new tokens per row (0: only the prompt is run, for prompt log-probabilities).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>How tokens are chosen (greedy by default).</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Recurrent models: fixed or adaptive depth, and the initial state.</summary>
    public DepthOptions Depth { get; init; } = new();

    /// <summary>A row ends before the first occurrence of any of these in its decoded continuation (needs a tokenizer).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Whether an end-of-sequence token (the tokenizer's, config.json's, and <see cref="StopTokenIds"/>) ends a row.</summary>
    public bool StopAtEos { get; init; } = true;

    /// <summary>More ids that end a row like EOS (a chat template's end-of-turn token).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Seeds the initial-state noise and the sampling draws; null picks a random seed.</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// A prompt that does not fit the context: false (the default) is an error; true keeps its last
    /// max(1, context − MaxNewTokens) tokens.
    /// </summary>
    public bool TruncatePrompt { get; init; }

    /// <summary>Use the KV cache (the default); false re-runs the whole sequence at every step (for comparisons).</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>The cache's memory mode.</summary>
    public KvCacheOptions Cache { get; init; } = new();

    /// <summary>Report this many most likely alternatives (with log-probabilities) for each generated token.</summary>
    public int TopLogProbs { get; init; }

    /// <summary>Also score the prompt's tokens (<see cref="Completion.PromptLogProbs"/>; OpenAI's <c>echo</c> with <c>logprobs</c>).</summary>
    public bool PromptLogProbs { get; init; }

    /// <summary>Throws a <see cref="DeepenException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 0) throw new DeepenException($"max-new-tokens {MaxNewTokens}: expected an integer ≥ 0.");
        if (TopLogProbs < 0) throw new DeepenException($"logprobs {TopLogProbs}: expected an integer ≥ 0.");
        Sampling.Validate();
        Depth.Validate();
        Cache.Validate();
    }
}

/// <summary>A token id with its log-probability (natural log) under the model's unprocessed distribution.</summary>
public sealed record TokenLogProb(int Id, double LogProb);

/// <summary>
/// One generated token of one row, as the stream yields it.
/// </summary>
/// <param name="Row">The prompt's index in the batch.</param>
/// <param name="Index">The token's index among the row's new tokens.</param>
/// <param name="Id">The token id.</param>
/// <param name="Text">The text this token adds to the row's continuation: empty while held back (an incomplete
/// UTF-8 character, or a possible start of a stop string), and never past a stop string.</param>
/// <param name="Depth">Recurrences the step that produced this token ran (1 for a plain model).</param>
/// <param name="LogProb">log p(token) under the model's distribution before sampling adjustments.</param>
public sealed record GeneratedToken(int Row, int Index, int Id, string Text, int Depth, double LogProb)
{
    /// <summary>The most likely alternatives, when <see cref="GenerationOptions.TopLogProbs"/> asked for them.</summary>
    public IReadOnlyList<TokenLogProb>? TopLogProbs { get; init; }

    /// <summary>Set on a row's last token: why the row ended.</summary>
    public FinishReason? Finish { get; init; }
}

/// <summary>A prompt token's log-probability given the tokens before it (null for the first), with the most likely alternatives.</summary>
public sealed record PromptTokenScore(int Id, double? LogProb, IReadOnlyList<TokenLogProb> Top);

/// <summary>One row's finished generation.</summary>
/// <param name="PromptIds">The prompt as run (after any truncation).</param>
/// <param name="Tokens">The generated tokens, in order.</param>
/// <param name="Text">The continuation text (cut before a stop string).</param>
/// <param name="Finish">Why the row ended.</param>
public sealed record Completion(int[] PromptIds, IReadOnlyList<GeneratedToken> Tokens, string Text, FinishReason Finish)
{
    /// <summary>Scores of the prompt's tokens, when <see cref="GenerationOptions.PromptLogProbs"/> asked for them.</summary>
    public IReadOnlyList<PromptTokenScore>? PromptLogProbs { get; init; }

    /// <summary>The generation of <paramref name="tokens"/> after <paramref name="prompt"/>: their text, and the last token's finish (length when there is none).</summary>
    internal static Completion Of(int[] prompt, IReadOnlyList<GeneratedToken> tokens, IReadOnlyList<PromptTokenScore>? promptLogProbs) =>
        new(prompt, tokens, string.Concat(tokens.Select(t => t.Text)), tokens.LastOrDefault()?.Finish ?? FinishReason.Length) { PromptLogProbs = promptLogProbs };
}
