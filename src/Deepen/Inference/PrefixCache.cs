using Deepen.Models;

namespace Deepen.Inference;

/// <summary>
/// Automatic prefix caching for <see cref="ContinuousBatch"/> (as vLLM's): the keys and values of recently prefilled
/// prompts, least recently used first out, within a budget of cached tokens. A new prompt that starts with the
/// same tokens as a cached one, at the same recurrence, takes that prefix's keys and values instead of computing
/// them again. A token's keys and values depend only on the tokens up to it, so this changes nothing but float
/// rounding, and only where the step is deterministic (<see cref="ContinuousBatch"/> decides which rows qualify).
/// </summary>
/// <remarks>Used by the batch's one thread only.</remarks>
internal sealed class PrefixCache(long tokenBudget) : IDisposable
{
    private sealed record Item(int[] Tokens, int Recurrence, KvPrefix Kv);

    private readonly LinkedList<Item> items = new();   // most recently used first

    /// <summary>Tokens held, at most the budget.</summary>
    public long Tokens { get; private set; }

    /// <summary>Tensors held (the server's leak check leaves them out: they are kept on purpose, and bounded).</summary>
    public int TensorCount { get; private set; }

    /// <summary>The cached prefix sharing the most leading tokens with <paramref name="prompt"/> at <paramref name="recurrence"/>, and how many it shares (0 and null when none).</summary>
    public (KvPrefix? Prefix, int Shared) Longest(int[] prompt, int recurrence)
    {
        LinkedListNode<Item>? best = null;
        int most = 0;
        for (var node = items.First; node is not null; node = node.Next)
        {
            if (node.Value.Recurrence != recurrence) continue;
            int shared = SharedLength(node.Value.Tokens, prompt);
            if (shared > most) (best, most) = (node, shared);
        }
        if (best is null) return (null, 0);
        items.Remove(best);
        items.AddFirst(best);
        return (best.Value.Kv, most);
    }

    /// <summary>
    /// Keeps <paramref name="take"/>() as the keys and values of <paramref name="prompt"/> unless a cached prompt already
    /// starts with all of it; then drops least recently used prompts until the budget holds. A prompt longer than
    /// the whole budget is not kept.
    /// </summary>
    public void Add(int[] prompt, int recurrence, Func<KvPrefix> take)
    {
        if (prompt.Length > tokenBudget) return;
        foreach (var item in items)
            if (item.Recurrence == recurrence && SharedLength(item.Tokens, prompt) == prompt.Length) return;
        var kv = take();
        items.AddFirst(new Item(prompt, recurrence, kv));
        Tokens += prompt.Length;
        TensorCount += kv.TensorCount;
        while (Tokens > tokenBudget) Evict(items.Last!);
    }

    private void Evict(LinkedListNode<Item> node)
    {
        items.Remove(node);
        Tokens -= node.Value.Tokens.Length;
        TensorCount -= node.Value.Kv.TensorCount;
        node.Value.Kv.Dispose();
    }

    private static int SharedLength(int[] a, int[] b)
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /// <summary>Frees every cached prefix.</summary>
    public void Dispose()
    {
        while (items.Last is { } last) Evict(last);
    }
}
