using Deepen.Data;
using static Deepen.Tests.Data.DataTestKit;

namespace Deepen.Tests.Data;

/// <summary>The loader: shapes and shift, determinism, rank sharding, exact resume, end of data, shorter rows.</summary>
public class LoaderTests
{
    private const int RowLength = 9;   // seq_len 8

    private static TokenShardLoader Loader(string[] shards, int batch, long seed = 74, int rank = 0, int world = 1,
        DataEndAction onEnd = DataEndAction.Wrap, List<string>? log = null) =>
        new(shards, new TokenShardLoaderOptions
        {
            BatchSize = batch, Seed = seed, Rank = rank, WorldSize = world, OnEnd = onEnd,
            ExpectedFingerprint = "sha256:fake", Log = log is null ? _ => { } : log.Add,
        });

    private static long[][] Take(TokenShardLoader loader, int batches)
    {
        var result = new List<long[]>();
        for (int i = 0; i < batches; i++)
        {
            Assert.True(loader.TryNextRows(out var rows));
            result.Add(rows);
        }
        return [.. result];
    }

    [Fact]
    public void BatchesAreShiftedRowsAsInt64()
    {
        using var tmp = new TestPaths.TempDir();
        var shard = WriteNumberedShard(tmp["a.tokens"], 10, RowLength);
        using var loader = Loader([shard], batch: 3);
        Assert.True(loader.TryNext(out var batch));
        using (batch)
        {
            Assert.Equal([3L, 8], batch.Inputs.shape);
            Assert.Equal(TorchSharp.torch.ScalarType.Int64, batch.Inputs.dtype);
            Assert.Equal(TorchSharp.torch.ScalarType.Int64, batch.Labels.dtype);
            var inputs = batch.Inputs.data<long>().ToArray();
            var labels = batch.Labels.data<long>().ToArray();
            for (int i = 0; i < 3; i++)
                for (int t = 0; t < 8; t++)
                {
                    Assert.Equal(batch.Rows[i] * RowLength + t, inputs[i * 8 + t]);       // row[:-1]
                    Assert.Equal(batch.Rows[i] * RowLength + t + 1, labels[i * 8 + t]);   // row[1:]
                }
        }
    }

    [Fact]
    public void OrderIsDeterministicAndAnEpochVisitsEveryRowOnce()
    {
        using var tmp = new TestPaths.TempDir();
        var a = WriteNumberedShard(tmp["a.tokens"], 12, RowLength);
        var b = WriteNumberedShard(tmp["b.tokens"], 12, RowLength);   // two files form one index space of 24 rows
        using var one = Loader([a, b], batch: 4);
        using var two = Loader([a, b], batch: 4);
        using var other = Loader([a, b], batch: 4, seed: 75);
        var first = Take(one, 6);
        Assert.Equal(first, Take(two, 6));
        Assert.NotEqual(first, Take(other, 6));
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (long)i), first.SelectMany(r => r).Order());
        Assert.NotEqual(Enumerable.Range(0, 24).Select(i => (long)i), first.SelectMany(r => r));   // shuffled
        // Epoch e uses Permutation(N, seed + e).
        Assert.Equal(DeterministicShuffle.Permutation(24, 74).Select(i => (long)i), first.SelectMany(r => r));
        var second = Take(one, 6);
        Assert.Equal(DeterministicShuffle.Permutation(24, 75).Select(i => (long)i), second.SelectMany(r => r));
    }

    [Fact]
    public void RanksGetDisjointInterleavedSharesOfTheGlobalBatch()
    {
        using var tmp = new TestPaths.TempDir();
        var shard = WriteNumberedShard(tmp["a.tokens"], 40, RowLength);
        const int b = 3;
        using var single = Loader([shard], batch: 2 * b);
        using var rank0 = Loader([shard], batch: b, rank: 0, world: 2);
        using var rank1 = Loader([shard], batch: b, rank: 1, world: 2);
        for (int step = 0; step < 9; step++)   // crosses the end of epoch 1 (40 rows, 6 per step)
        {
            Assert.True(single.TryNextRows(out var all));
            Assert.True(rank0.TryNextRows(out var r0));
            Assert.True(rank1.TryNextRows(out var r1));
            Assert.Empty(r0.Intersect(r1));
            Assert.Equal(all.Order(), r0.Concat(r1).Order());
            Assert.Equal(all.Where((_, i) => i % 2 == 0), r0);   // interleaved: rank r takes positions j·W + r
            Assert.Equal(all.Where((_, i) => i % 2 == 1), r1);
            Assert.Equal(single.State, rank0.State);
            Assert.Equal(single.State, rank1.State);
        }
    }

    [Fact]
    public void RestoredLoaderContinuesExactly()
    {
        using var tmp = new TestPaths.TempDir();
        var shard = WriteNumberedShard(tmp["a.tokens"], 30, RowLength);
        using var loader = Loader([shard], batch: 4);   // 7 batches per epoch: the next 5 cross into epoch 2
        for (int i = 0; i < 7; i++) { Assert.True(loader.TryNext(out var b)); b.Dispose(); }
        string saved = loader.State.ToJson();
        var expected = new List<(long[] Inputs, long[] Labels)>();
        for (int i = 0; i < 5; i++)
        {
            Assert.True(loader.TryNext(out var b));
            using (b) expected.Add((b.Inputs.data<long>().ToArray(), b.Labels.data<long>().ToArray()));
        }
        using var fresh = Loader([shard], batch: 4);
        fresh.Restore(TokenLoaderState.FromJson(saved));
        for (int i = 0; i < 5; i++)
        {
            Assert.True(fresh.TryNext(out var b));
            using (b)
            {
                Assert.Equal(expected[i].Inputs, b.Inputs.data<long>().ToArray());
                Assert.Equal(expected[i].Labels, b.Labels.data<long>().ToArray());
            }
        }
        Assert.Equal(loader.State, fresh.State);
        Assert.Equal(1, fresh.State.Epoch);
    }

    [Fact]
    public void StateFromOtherDataIsRefused()
    {
        using var tmp = new TestPaths.TempDir();
        using var loader = Loader([WriteNumberedShard(tmp["a.tokens"], 30, RowLength)], batch: 4);
        var e = Assert.Throws<DeepenException>(() => loader.Restore(new TokenLoaderState(0, 8, RowCount: 31, Seed: 74)));
        Assert.Contains("31 rows", e.Message);
        e = Assert.Throws<DeepenException>(() => loader.Restore(new TokenLoaderState(0, 8, RowCount: 30, Seed: 1)));
        Assert.Contains("seed 1", e.Message);
    }

    [Fact]
    public void AtTheEndItWrapsToANewEpochAndSaysSo()
    {
        using var tmp = new TestPaths.TempDir();
        var log = new List<string>();
        using var loader = Loader([WriteNumberedShard(tmp["a.tokens"], 10, RowLength)], batch: 3, log: log);
        var events = new List<DataExhausted>();
        loader.Exhausted += events.Add;
        Take(loader, 3);
        Assert.Empty(log);
        Assert.True(loader.TryNextRows(out _));
        Assert.Equal(["data exhausted after 9 rows: wrapping to epoch 2 (epoch 1 of 10 rows; 1 rows left over, fewer than one global batch of 3)"], log);
        Assert.Equal(new TokenLoaderState(1, 3, 10, 74), loader.State);
        Assert.Equal(DataEndAction.Wrap, Assert.Single(events).Action);
    }

    [Fact]
    public void AtTheEndItStopsAndSaysSo()
    {
        using var tmp = new TestPaths.TempDir();
        var log = new List<string>();
        using var loader = Loader([WriteNumberedShard(tmp["a.tokens"], 10, RowLength)], batch: 3, onEnd: DataEndAction.Stop, log: log);
        Take(loader, 3);
        Assert.False(loader.TryNext(out _));
        Assert.False(loader.TryNextRows(out _));
        Assert.Equal(["data exhausted after 9 rows: stopping (epoch 1 of 10 rows; 1 rows left over, fewer than one global batch of 3)"], log);
    }

    [Fact]
    public void RowsCanBeTruncatedOrSplitIntoLosslessPieces()
    {
        using var tmp = new TestPaths.TempDir();
        var shard = WriteNumberedShard(tmp["a.tokens"], 10, RowLength);
        using var full = Loader([shard], batch: 2);
        using var cut = Loader([shard], batch: 2);
        using var split = Loader([shard], batch: 2);
        Assert.True(full.TryNext(out var f));
        Assert.True(cut.TryNext(3, RowCut.Truncate, out var t));
        Assert.True(split.TryNext(4, RowCut.Split, out var s));
        using (f) using (t) using (s)
        {
            Assert.Equal([2L, 3], t.Inputs.shape);
            Assert.Equal(f.Inputs[.., ..3].data<long>().ToArray(), t.Inputs.data<long>().ToArray());
            Assert.Equal(f.Labels[.., ..3].data<long>().ToArray(), t.Labels.data<long>().ToArray());
            // Split: each 9-token row gives 2 pieces of 4; together their inputs/labels are exactly the full row's.
            Assert.Equal([4L, 4], s.Inputs.shape);
            Assert.Equal(f.Inputs.data<long>().ToArray(), s.Inputs.data<long>().ToArray());
            Assert.Equal(f.Labels.data<long>().ToArray(), s.Labels.data<long>().ToArray());
            Assert.Equal([f.Rows[0], f.Rows[0], f.Rows[1], f.Rows[1]], s.Rows);
        }
        Assert.Equal(full.State, split.State);   // one call consumes one global batch of rows, whatever the cut
        var e = Assert.Throws<DeepenException>(() => split.TryNext(3, RowCut.Split, out _));
        Assert.Contains("does not divide", e.Message);
        Assert.Throws<DeepenException>(() => split.TryNext(9, RowCut.Truncate, out _));
    }

    [Fact]
    public void TooFewRowsForOneGlobalBatchIsAnError()
    {
        using var tmp = new TestPaths.TempDir();
        var e = Assert.Throws<DeepenException>(() => Loader([WriteNumberedShard(tmp["a.tokens"], 5, RowLength)], batch: 3, world: 2));
        Assert.Contains("fewer than one global batch of 3 × 2 = 6", e.Message);
    }
}
