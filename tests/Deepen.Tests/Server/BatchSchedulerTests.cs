using Deepen.Inference;
using Deepen.Server;
using Generator = Deepen.Inference.Generator;
using Deepen.Models;

namespace Deepen.Tests.Server;

/// <summary>
/// The model worker's scheduler without HTTP: requests whose settings cannot share the running batch (another
/// adaptive exit, no KV cache) wait for it to drain and then run, every request gets its one-at-a-time answer,
/// bad input fails only its own request, and a request cancelled while waiting never runs.
/// </summary>
public sealed class BatchSchedulerTests
{
    [Fact]
    public async Task MixedSettingsAllGetTheirOneAtATimeAnswersAndBadInputFailsAlone()
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel("raven-llama-tiny"));
        var generator = new Generator(model);
        GenerationOptions Fixed(int i) => new() { MaxNewTokens = 5 + i % 9, StopAtEos = false, Seed = i, Depth = DepthOptions.Fixed(1 + i % 4) };
        var options = Enumerable.Range(0, 14).Select(i => i switch
        {
            4 => Fixed(i) with { Depth = DepthOptions.Adaptive(new ExitCriterion(ExitKind.Kl, 1e-3), 6) },   // another batch setting
            7 => Fixed(i) with { UseCache = false },                                                         // cannot batch at all
            _ => Fixed(i),
        }).ToList();
        int[] Prompt(int i) => Enumerable.Range(0, 2 + i % 7).Select(j => 3 + (i * 7 + j * 5) % 90).ToArray();

        var order = new List<int>();
        var scheduler = new BatchScheduler(generator, capacity: 64, maxBatch: 6);
        Task<IReadOnlyList<Completion>>[] tasks;
        Task<IReadOnlyList<Completion>> bad;
        try
        {
            tasks = Enumerable.Range(0, 14).Select(i => scheduler.TryEnqueue(
                () => { lock (order) order.Add(i); return (IReadOnlyList<int[]>)[Prompt(i)]; },
                options[i], null, c => c, CancellationToken.None)!).ToArray();
            bad = scheduler.TryEnqueue(() => [[1, 2, 999]], Fixed(0), null, c => c, CancellationToken.None)!;
            await Task.WhenAll(tasks);
            await Assert.ThrowsAsync<DeepenException>(() => bad);
        }
        finally { scheduler.Dispose(); }

        Assert.Equal(Enumerable.Range(0, 14), order);                                   // admitted first come, first served
        for (int i = 0; i < 14; i++)
        {
            var alone = generator.Generate([Prompt(i)], options[i])[0];
            var got = (await tasks[i])[0];
            Assert.Equal(alone.Tokens.Select(t => t.Id), got.Tokens.Select(t => t.Id));
            Assert.Equal(alone.Tokens.Select(t => t.Depth), got.Tokens.Select(t => t.Depth));
        }
    }

    [Fact]
    public async Task ARequestCancelledWhileWaitingNeverRunsAndAFullQueueRefuses()
    {
        using var model = DeepenModel.Load(TestPaths.FixtureModel("raven-llama-tiny"));
        var generator = new Generator(model);
        var slow = new GenerationOptions { MaxNewTokens = 200, StopAtEos = false, Seed = 1, Depth = DepthOptions.Fixed(8), UseCache = false };
        using var scheduler = new BatchScheduler(generator, capacity: 2, maxBatch: 4);
        using var started = new ManualResetEventSlim();
        var first = scheduler.TryEnqueue(() => { started.Set(); return (IReadOnlyList<int[]>)[[1, 2, 3]]; }, slow, null, c => c, CancellationToken.None)!;
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)));
        using var cancel = new CancellationTokenSource();
        bool ran = false;
        var waiting = scheduler.TryEnqueue(() => { ran = true; return (IReadOnlyList<int[]>)[[4, 5]]; }, slow with { MaxNewTokens = 3 }, null, c => c, cancel.Token)!;
        var other = scheduler.TryEnqueue(() => [[6]], slow with { MaxNewTokens = 2 }, null, c => c, CancellationToken.None)!;
        Assert.Null(scheduler.TryEnqueue(() => [[7]], slow, null, c => c, CancellationToken.None));   // two waiting: full
        cancel.Cancel();
        await first;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(2, (await other)[0].Tokens.Count);
        Assert.False(ran);
    }
}
