using Deepen.Inference;

namespace Deepen.Evaluation;

/// <summary>
/// What an evaluation task needs from a model: greedy generation until a stop string and the
/// log-likelihood of a continuation given a context (lm-eval's <c>generate_until</c> and
/// <c>loglikelihood</c> request types). A model at a fixed test-time recurrence implements it;
/// tests implement it with scripted mocks.
/// </summary>
public interface ILanguageModel
{
    /// <summary>A short name for reports (e.g. the model directory).</summary>
    string Name { get; }

    /// <summary>
    /// One completion per prompt, in order. The text is the continuation only (no prompt), decoded
    /// without special tokens. An implementation may stop as soon as a stop string appears, but need
    /// not cut the text: <see cref="EvalRunner"/> cuts every result at the first stop string itself.
    /// </summary>
    IReadOnlyList<GenerationResult> Generate(IReadOnlyList<string> prompts, GenerationRequest request);

    /// <summary>
    /// For each pair, the summed log-probability (natural log) of the continuation's tokens given the
    /// context, as lm-eval computes it: the context and continuation are tokenized so that the
    /// continuation's tokens are exactly those of <c>Encode(context + continuation)</c> after the
    /// context's tokens.
    /// </summary>
    IReadOnlyList<LogLikelihoodResult> LogLikelihood(IReadOnlyList<(string Context, string Continuation)> requests);
}

/// <summary>How to generate: greedy decoding, stop strings, a token budget, and whether the model's EOS token ends the text.</summary>
/// <param name="StopStrings">Generation ends before the first occurrence of any of these (lm-eval's <c>until</c>).</param>
/// <param name="MaxNewTokens">At most this many new tokens (lm-eval's <c>max_gen_toks</c>, 256 by default).</param>
/// <param name="StopAtEos">Stop at the model's end-of-sequence token (lm-eval always adds the EOS to <c>until</c>); the EOS is not part of the text.</param>
/// <param name="Greedy">Argmax decoding (lm-eval's <c>do_sample: false</c>); every task here asks for it.</param>
public sealed record GenerationRequest(IReadOnlyList<string> StopStrings, int MaxNewTokens = 256, bool StopAtEos = true, bool Greedy = true)
{
    /// <summary>True when both requests ask for the same generation, so their prompts can share a batch.</summary>
    public bool SameAs(GenerationRequest other) =>
        ReferenceEquals(this, other) ||
        (MaxNewTokens == other.MaxNewTokens && StopAtEos == other.StopAtEos && Greedy == other.Greedy &&
         StopStrings.SequenceEqual(other.StopStrings));
}

/// <summary>One generated continuation.</summary>
/// <param name="Text">The continuation (without the prompt).</param>
/// <param name="TokenCount">Tokens the model generated for it (including any that were cut off after a stop string).</param>
/// <param name="Finish">Why generation ended.</param>
public sealed record GenerationResult(string Text, int TokenCount, FinishReason Finish = FinishReason.Stop);

/// <summary>The log-likelihood of one continuation, with the lengths that normalised metrics divide by.</summary>
/// <param name="LogProb">Sum of natural-log probabilities of the continuation's tokens.</param>
/// <param name="TokenCount">Number of continuation tokens.</param>
/// <param name="IsGreedy">Whether greedy decoding from the context would have produced exactly the continuation.</param>
/// <param name="ByteLength">UTF-8 bytes of the continuation string.</param>
/// <param name="CharLength">Unicode code points of the continuation string (Python's <c>len</c>).</param>
public sealed record LogLikelihoodResult(double LogProb, int TokenCount, bool IsGreedy, int ByteLength, int CharLength)
{
    /// <summary>A result for <paramref name="continuation"/>, with its byte and character lengths filled in.</summary>
    public static LogLikelihoodResult For(string continuation, double logProb, int tokenCount, bool isGreedy = false) =>
        new(logProb, tokenCount, isGreedy, TextLength.Utf8Bytes(continuation), TextLength.CodePoints(continuation));
}

/// <summary>String lengths as Python and lm-eval count them.</summary>
public static class TextLength
{
    /// <summary>UTF-8 byte count.</summary>
    public static int Utf8Bytes(string s) => System.Text.Encoding.UTF8.GetByteCount(s);

    /// <summary>Unicode code points (Python's <c>len(str)</c>), not UTF-16 units.</summary>
    public static int CodePoints(string s) => s.EnumerateRunes().Count();
}
