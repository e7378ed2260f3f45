using Deepen.Data;
using Deepen.Evaluation;
using Deepen.Modeling;
using Deepen.Tests.Training;
using Deepen.Training;
using static TorchSharp.torch;
using Deepen.Models;

namespace Deepen.Tests.Evaluation;

public class LossEvaluationTests
{
    [Fact]
    public void LossTaskEqualsADirectForwardComputation()
    {
        using var tmp = new TestPaths.TempDir();
        var data = TinyTrainingRun.WriteShards(tmp["data"], trainRows: 8, valRows: 6);
        var val = Path.Combine(data, DataPreparer.ValFile);
        using var model = DeepenModel.Load(TestPaths.FixtureModel("converted-llama-tiny"));
        var points = LossEvaluation.Run(model, [val], [1, 3], batchSize: 3, batches: 0, seed: 5);
        Assert.Equal([1, 3], points.Select(p => p.Recurrence));

        // Direct: the same rows in the loader's order, the same seeded noise per batch.
        var rec = ((RecurrentDeepenModel)model).Model;
        foreach (var p in points)
        {
            using var loader = new TokenShardLoader([val], new TokenShardLoaderOptions { BatchSize = 3, Seed = 5, OnEnd = DataEndAction.Stop, Log = _ => { } });
            double sum = 0; long n = 0; int i = 0;
            using var noGrad = no_grad();
            while (loader.TryNext(out var b))
            {
                using var gen = new Generator((ulong)(5 * 7919 + i++));
                var logits = rec.forward(b.Inputs, new RecurrenceOptions(p.Recurrence, 0, StateInit.Random, gen));
                var logp = nn.functional.log_softmax(logits, -1).gather(-1, b.Labels.unsqueeze(-1));
                sum -= logp.sum().item<float>();
                n += b.Labels.numel();
            }
            Assert.Equal(n, p.N);
            Assert.Equal(sum / n, p.Value, 4);
        }
        Assert.NotEqual(points[0].Value, points[1].Value);
    }
}
