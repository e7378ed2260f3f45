using Deepen.Checkpoints;
using Deepen.Modeling;
using Deepen.Training;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Tests.Training;

/// <summary>
/// <c>loss_on: answer</c> runs the head on the answer positions alone: the logits of the kept rows equal the full
/// logits at those rows, and the train step's loss and gradients equal those of the full logits masked, for plain
/// and recurrent models.
/// </summary>
public class AnswerRowsTests
{
    private static readonly long[] Ids = [3, 17, 42, 5, 88, 61, 7, 29, 11, 4, 90, 33, 2, 8, 19, 50];

    private static DeepenModel Open(string fixture) => fixture.StartsWith("raven", StringComparison.Ordinal)
        ? new RecurrentDeepenModel(RecurrentCheckpoint.Load(TestPaths.FixtureModel(fixture)))
        : new PlainDeepenModel(HfModel.Load(TestPaths.FixtureModel(fixture), ScalarType.Float32), hfConfig: HfConfig.ReadJson(TestPaths.FixtureModel(fixture)));

    [Theory]
    [InlineData("llama-tiny")]
    [InlineData("raven-llama-tiny")]
    public void KeptRowsHaveTheFullLogitsOfTheirPositions(string fixture)
    {
        using var model = Open(fixture);
        using var scope = NewDisposeScope();
        var ids = tensor(Ids).reshape(2, 8);                                            // (B, T)
        var rows = tensor(new long[] { 1, 6, 7, 12 });                                  // into B·T = 16
        var full = model.Logits(ids, new RecurrenceDraw(3, 0), new Generator(5));      // (B, T, V)
        var kept = model.Logits(ids, new RecurrenceDraw(3, 0), new Generator(5), rows: rows);   // (N, V)
        Assert.Equal([4, full.shape[^1]], kept.shape);
        TensorAssert.Close(full.reshape(-1, full.shape[^1]).index_select(0, rows), kept, 1e-5);
    }

    [Theory]
    [InlineData("llama-tiny")]
    [InlineData("raven-llama-tiny")]
    public void TheAnswerOnlyStepHasTheLossAndGradientsOfTheMaskedFullLogits(string fixture)
    {
        using var model = Open(fixture);
        model.Module.train();
        using var scope = NewDisposeScope();
        var ids = tensor(Ids).reshape(2, 8);                                            // (B, T)
        var labels = ids.roll(-1, 1);                                                   // (B, T)
        var mask = new AnswerLossMask([42], eos: 61, bos: null);                       // answers: after 42 up to 61 (row 0), none in row 1
        var (loss, answers) = TrainStep.MicroBatch(model, ids, labels, new RecurrenceDraw(3, 2), new Generator(5), null, 1, mask);
        Assert.True(answers > 0);
        var fast = model.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        model.Module.zero_grad();

        var (kept, _) = mask.Apply(ids, labels);
        var logits = model.Logits(ids, new RecurrenceDraw(3, 2), new Generator(5));  // (B, T, V)
        var reference = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), kept.reshape(-1));
        reference.backward();
        Assert.Equal(reference.item<float>(), loss, 5);
        foreach (var (name, p) in model.Module.named_parameters())
            TensorAssert.Close(p.grad!, fast[name], 1e-5, $"gradient of {name}");
    }

    [Fact]
    public void AMicroBatchWithoutAnswersGivesNoSignalNotNaN()
    {
        using var model = Open("raven-llama-tiny");
        model.Module.train();
        using var scope = NewDisposeScope();
        var ids = tensor(Ids).reshape(2, 8);
        var mask = new AnswerLossMask([999], eos: 61, bos: null);                      // a marker that never occurs
        var (loss, answers) = TrainStep.MicroBatch(model, ids, ids.roll(-1, 1), new RecurrenceDraw(2, 1), new Generator(5), null, 1, mask);
        Assert.Equal((0.0, 0L), (loss, answers));
        foreach (var (name, p) in model.Module.named_parameters())
            if (p.grad is { } g) Assert.Equal(0.0, g.abs().max().item<float>(), 6);
    }
}
