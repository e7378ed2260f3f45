using Deepen.Tokenization;

namespace Deepen.Inference;

/// <summary>
/// One row of a generation as it grows: its tokens so far (prompt included, for the repetition penalty), its text
/// stream with the stop strings, and when it ends (end-of-sequence, a stop string, the token budget or the
/// context). <see cref="Generator"/> keeps one per row of a batch; continuous batching keeps one per request.
/// </summary>
internal sealed class SequenceState(int[] prompt, GenerationOptions options, TextTokenizer? tokenizer, IReadOnlySet<int> endIds, int contextLength)
{
    private readonly TextStream stream = new(tokenizer, options.StopStrings);

    /// <summary>The prompt as it is run (after truncation).</summary>
    public int[] Prompt { get; } = prompt;

    /// <summary>Prompt and generated ids.</summary>
    public List<int> History { get; } = [.. prompt];

    /// <summary>Tokens generated so far.</summary>
    public int Count { get; private set; }

    /// <summary>Whether the row has ended.</summary>
    public bool Finished { get; private set; }

    /// <summary>Takes the chosen <paramref name="id"/>: appends it, decodes its text, and says whether the row ends with it.</summary>
    public GeneratedToken Accept(int row, int id, int depth, double logProb, IReadOnlyList<TokenLogProb>? top)
    {
        if (Finished) throw new InvalidOperationException("SequenceState.Accept after the row finished.");
        History.Add(id);
        Count++;
        FinishReason? finish = null;
        string text;
        if (options.StopAtEos && endIds.Contains(id)) { finish = FinishReason.Eos; text = stream.Flush(); }
        else
        {
            text = stream.Push(id);
            if (stream.Stopped) finish = FinishReason.Stop;
            else if (Count >= options.MaxNewTokens || Prompt.Length + Count >= contextLength)
            {
                finish = FinishReason.Length;
                text += stream.Flush();
            }
        }
        Finished = finish is not null;
        return new GeneratedToken(row, Count - 1, id, text, depth, logProb) { TopLogProbs = top, Finish = finish };
    }
}
