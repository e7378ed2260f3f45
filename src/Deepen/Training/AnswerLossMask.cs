using static TorchSharp.torch;

namespace Deepen.Training;

/// <summary>
/// <c>loss_on: answer</c>: keeps in the loss only the predictions of answer tokens, the tokens after each occurrence of
/// the answer marker (e.g. the ids of <c>"\nA:"</c>) up to and including the next EOS; every other label becomes
/// <see cref="Ignore"/>, which cross-entropy skips. A new document (BOS) also ends an answer. A row that starts inside
/// an answer (rows are cut from a packed stream) has that answer's tail left out, since its marker is not in view.
/// </summary>
public sealed class AnswerLossMask
{
    /// <summary>The label value cross-entropy ignores (its default <c>ignore_index</c>).</summary>
    public const long Ignore = -100;

    private readonly int[] _marker;
    private readonly int _eos;
    private readonly int? _bos;

    public AnswerLossMask(IReadOnlyList<int> marker, int eos, int? bos)
    {
        if (marker.Count == 0) throw new DeepenException("answer_marker: encodes to no tokens; expected text such as '\\nA:'.");
        _marker = marker.ToArray();
        _eos = eos;
        _bos = bos;
    }

    /// <summary>
    /// Labels (B, T) int64 with every non-answer prediction set to <see cref="Ignore"/>, and how many labels are kept
    /// (counted on the host while masking, so no second pass over the tensor); <paramref name="inputs"/> (B, T) supplies
    /// each row's first token.
    /// </summary>
    public (Tensor Labels, long Counted) Apply(Tensor inputs, Tensor labels)
    {
        long counted = 0;
        long rows = labels.shape[0], width = labels.shape[1];
        var first = inputs.select(1, 0).cpu().data<long>().ToArray();             // (B,)
        var y = labels.cpu().contiguous().data<long>().ToArray();                 // (B·T,)
        for (long b = 0; b < rows; b++)
        {
            bool inAnswer = false;
            int matched = first[b] == _marker[0] ? 1 : 0;                         // the row's first token may open the marker
            if (matched == _marker.Length) (inAnswer, matched) = (true, 0);
            for (long t = 0; t < width; t++)
            {
                long i = b * width + t, token = y[i];
                bool keep = inAnswer;
                if (inAnswer && (token == _eos || token == _bos)) inAnswer = false;
                else if (!inAnswer)
                {
                    matched = token == _marker[matched] ? matched + 1 : token == _marker[0] ? 1 : 0;
                    if (matched == _marker.Length) (inAnswer, matched) = (true, 0);
                }
                if (keep) counted++;
                else y[i] = Ignore;
            }
        }
        return (tensor(y, [rows, width], ScalarType.Int64, labels.device), counted);
    }

    /// <summary>The positions (N,) int64 of the kept labels in the flattened (B·T) batch, and those labels (N,): what the
    /// loss needs, so that the head runs on the answer positions alone (see <see cref="Modeling.RecurrenceOptions.Rows"/>).</summary>
    public static (Tensor Rows, Tensor Labels) KeptRows(Tensor masked)
    {
        var flat = masked.reshape(-1);                                                 // (B·T,)
        var rows = flat.ne(Ignore).nonzero().squeeze(1);                               // (N,)
        return (rows, flat.index_select(0, rows));
    }
}
