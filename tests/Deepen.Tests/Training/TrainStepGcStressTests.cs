using System.Diagnostics;
using Deepen.Checkpoints;
using Deepen.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Tests.Training;

/// <summary>
/// The train step under the same exposure as generation in <c>Inference/GcStressTests</c>: another thread forces
/// garbage collections (as a progress bar's or a data loader's thread can trigger them) while the forward, the
/// backward, the clipping and Muon with its auxiliary Adam run. Every step must succeed and the weights after a fixed
/// number of steps must be bit for bit those of the same steps without that thread.
/// </summary>
public sealed class TrainStepGcStressTests(ITestOutputHelper output)
{
    private static readonly long[] Ids = [3, 17, 42, 5, 88, 61, 7, 29, 11, 4, 90, 33, 2, 8, 19, 50];
    private const int Steps = 12;

    private static Dictionary<string, Tensor> Train(Action<int>? onStep = null)
    {
        using var model = new RecurrentDeepenModel(RecurrentCheckpoint.Load(TestPaths.FixtureModel("raven-llama-tiny")));
        model.Module.train();
        var optimizer = new MuonWithAuxAdam(model.ParameterGroups(), new MuonSettings(Lr: 2e-2), new AdamSettings(Lr: 3e-3));
        var mask = new AnswerLossMask([42], eos: 61, bos: null);
        for (int step = 0; step < Steps; step++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(Ids).reshape(2, 8).roll(step, 1);                              // (B, T)
            var labels = ids.roll(-1, 1);
            using var noise = new Generator((ulong)(11 + step));
            TrainStep.MicroBatch(model, ids, labels, new RecurrenceDraw(3, 2), noise, null, 2, step % 2 == 0 ? mask : null);
            TrainStep.MicroBatch(model, ids.flip(1), labels.flip(1), new RecurrenceDraw(2, 2), noise, null, 2, null);
            TrainStep.Apply(model, optimizer, 1.0, 1.0);
            onStep?.Invoke(step);
        }
        return model.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
    }

    [Fact]
    public void TrainingUnderForcedCollectionsNeverFailsAndGivesTheSameWeights()
    {
        var expected = Train();
        var pressure = new GcPressure();
        var clock = Stopwatch.StartNew();
        Dictionary<string, Tensor> got;
        try { got = Train(); }
        finally { pressure.Dispose(); }
        output.WriteLine($"{Steps} steps (2 micro-batches each) in {clock.Elapsed.TotalSeconds:F1} s under {pressure.Collections} forced collections");
        Assert.True(pressure.Collections > Steps, "the pressure thread barely ran");
        foreach (var (name, w) in expected) Assert.True(w.Same(got[name]), $"{name} differs");
    }
}
