using Deepen.Training;
using static TorchSharp.torch;

namespace Deepen.Tests.Training;

/// <summary>loss_on: answer keeps exactly the predictions after each answer marker up to and including EOS.</summary>
public class AnswerLossMaskTests
{
    private const long X = AnswerLossMask.Ignore;

    private static long[] Masked(long[] row, int[] marker)
    {
        using var scope = NewDisposeScope();
        var t = tensor(row, [1, row.Length], ScalarType.Int64);
        var inputs = t.narrow(1, 0, row.Length - 1);
        var labels = t.narrow(1, 1, row.Length - 1);
        var (masked, counted) = new AnswerLossMask(marker, eos: 1, bos: 0).Apply(inputs, labels);
        var values = masked.data<long>().ToArray();
        Assert.Equal(values.Count(v => v != X), counted);
        return values;
    }

    [Fact]
    public void KeepsAnswerTokensAndTheirEos()
    {
        // <s> q  M1 M2 a  a  </s> <s> q  M1 M2 a  </s>
        long[] row = [0, 9, 5, 6, 7, 8, 1, 0, 9, 5, 6, 4, 1];
        Assert.Equal(new long[] { X, X, X, 7, 8, 1, X, X, X, X, 4, 1 }, Masked(row, [5, 6]));
    }

    [Fact]
    public void MarkerOpenedByTheRowsFirstTokenCounts()
    {
        long[] row = [5, 6, 3, 1, 9, 9];
        Assert.Equal(new long[] { X, 3, 1, X, X }, Masked(row, [5, 6]));
    }

    [Fact]
    public void PartialMarkersAndRowsWithoutAnswersKeepNothing()
    {
        long[] row = [0, 5, 9, 6, 5, 5, 9, 1];
        Assert.All(Masked(row, [5, 6]), v => Assert.Equal(X, v));
        // a repeated first marker token still matches: 5 5 6 opens an answer
        Assert.Equal(new long[] { X, X, X, 2, 1 }, Masked([9, 5, 5, 6, 2, 1], [5, 6]));
    }

    [Fact]
    public void EmptyMarkerIsRejected() =>
        Assert.Throws<DeepenException>(() => new AnswerLossMask([], 1, 0));
}
