using Deepen.Checkpoints;
using Deepen.Modeling;
using Deepen.Training.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Deepen.Tests.Training.Distributed;

/// <summary>
/// A stand-in for W ranks inside one process: the other W − 1 ranks are taken to hold <see cref="PeerFactor"/>
/// times this rank's values, so a sum over ranks is (1 + k(W − 1)) × the values. Records every call.
/// </summary>
internal sealed class SimulatedRanks(int worldSize, float peerFactor) : ICollective
{
    public float PeerFactor => peerFactor;
    public List<int> FloatCalls { get; } = [];
    public int Rank => 0;
    public int WorldSize => worldSize;
    public int LocalRank => 0;
    public int LocalSize => worldSize;
    public string Description => "simulated";
    public void AllReduceSum(Span<float> buffer)
    {
        FloatCalls.Add(buffer.Length);
        foreach (ref var x in buffer) x *= 1 + peerFactor * (worldSize - 1);
    }
    public void AllReduceSum(Span<double> buffer)
    {
        foreach (ref var x in buffer) x *= 1 + peerFactor * (worldSize - 1);
    }
    public void Broadcast(Span<byte> buffer, int root) { }
    public void Barrier() { }
    public void Abort(int exitCode) => throw new InvalidOperationException($"abort {exitCode}");
    public void Dispose() { }
}

public class GradientAllReducerTests
{
    [Fact]
    public void GradientsBecomeTheirMeanOverRanksBucketByBucketInParameterOrder()
    {
        using var scope = NewDisposeScope();
        long[] sizes = [100, 50, 300, 20, 7];
        var ps = sizes.Select(n => new Parameter(randn(n))).ToList();
        var coefficients = sizes.Select(n => randn(n)).ToList();
        for (int i = 0; i < 4; i++) (ps[i] * coefficients[i]).sum().backward();   // the last parameter gets no gradient

        var ranks = new SimulatedRanks(2, peerFactor: 3);   // the peer's gradient is 3 × ours: the mean is 2 × ours
        using var reducer = new GradientAllReducer(ps, ranks, bucketBytes: 160 * sizeof(float));
        Assert.Equal([150L, 300, 27], reducer.BucketElements);   // 100 + 50 fit 160; 300 alone; 20 + 7
        reducer.AllReduce();

        Assert.Equal([150, 300, 27], ranks.FloatCalls);
        for (int i = 0; i < 4; i++) Assert.True(ps[i].grad!.Same(coefficients[i] * 2), $"parameter {i}");
        Assert.Null(ps[4].grad);
        reducer.AllReduce();                                  // the buckets are reused and refilled from the current gradients
        for (int i = 0; i < 4; i++) Assert.True(ps[i].grad!.Same(coefficients[i] * 4), $"parameter {i}, second step");
    }

    [Fact]
    public void OneRankLeavesGradientsAlone()
    {
        using var scope = NewDisposeScope();
        var p = new Parameter(randn(5));
        (p * 3).sum().backward();
        var ranks = new SimulatedRanks(1, peerFactor: 3);
        using var reducer = new GradientAllReducer([p], ranks);
        reducer.AllReduce();
        Assert.Empty(ranks.FloatCalls);
        Assert.True(p.grad!.Same(full(5, 3f)));
    }
}

public class NoiseShardTests
{
    [Fact]
    public void EachRankKeepsItsRowsOfTheNoiseDrawnForAllRanks()
    {
        using var scope = NewDisposeScope();
        using var model = RecurrentCheckpoint.Load(TestPaths.FixtureModel("converted-llama-tiny"));
        long d = model.Config.Block.HiddenSize;
        using var g = new Generator(11);
        var all = model.InitialState(zeros(6, 5, d), new RecurrenceOptions(1, Generator: g));   // one process, 6 rows: (6, 5, d)
        for (int rank = 0; rank < 3; rank++)
        {
            using var gr = new Generator(11);
            var mine = model.InitialState(zeros(2, 5, d), new RecurrenceOptions(1, Generator: gr) { Shard = new NoiseShard(rank, 3) });   // (2, 5, d)
            // The loader gives rank r of 3 the global rows r and r + 3.
            Assert.True(mine.Same(all.index_select(0, tensor(new long[] { rank, rank + 3 }))), $"rank {rank}");
        }
        Assert.False(all[0].Same(all[1]));
    }
}

public class CollectiveWatchdogTests
{
    [Fact]
    public void FiresOnceForACollectiveThatOutlivesTheTimeoutAndNeverForOnesThatReturn()
    {
        var fired = new List<string>();
        using (var watchdog = new CollectiveWatchdog(TimeSpan.FromMilliseconds(200), m => { lock (fired) fired.Add(m); }))
        {
            for (int i = 0; i < 5; i++)
                using (watchdog.Enter("quick"))
                    Thread.Sleep(50);
            Thread.Sleep(300);   // nothing in flight
            lock (fired) Assert.Empty(fired);
            using (watchdog.Enter("MPI_Allreduce of 3 floats"))
                Thread.Sleep(900);
        }
        Assert.Single(fired);
        Assert.StartsWith("MPI_Allreduce of 3 floats has waited", fired[0]);
        Assert.Contains("collective timeout 0 s", fired[0]);
    }
}
