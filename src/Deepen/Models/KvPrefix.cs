using static TorchSharp.torch;

namespace Deepen.Models;

/// <summary>
/// One row's cached keys and values for the first <see cref="Length"/> tokens of its prompt (<see cref="KvCache.SnapshotRow"/>),
/// copied out of the batch's buffers so they outlive it: what prefix caching hands to a later prompt that starts
/// with the same tokens (<see cref="KvCache.Preload"/>). Keys are after rope, at the tokens' own positions 0…Length−1.
/// </summary>
public sealed class KvPrefix : IDisposable
{
    internal KvPrefix(Dictionary<KvKey, (Tensor K, Tensor V)> entries, int length, int coreEntriesPerLayer)
    {
        Entries = entries;
        Length = length;
        CoreEntriesPerLayer = coreEntriesPerLayer;
    }

    /// <summary>Per (stage, iteration, layer): keys and values (1, Hkv, Length, hd).</summary>
    internal Dictionary<KvKey, (Tensor K, Tensor V)> Entries { get; }

    /// <summary>Tokens held.</summary>
    public int Length { get; }

    /// <summary>Core entries per layer of the cache it was taken from (entries past the row's own recurrence repeat its last iteration).</summary>
    public int CoreEntriesPerLayer { get; }

    /// <summary>Tensors held (two per entry).</summary>
    public int TensorCount => 2 * Entries.Count;

    /// <summary>Frees the copies.</summary>
    public void Dispose()
    {
        foreach (var (k, v) in Entries.Values) { k.Dispose(); v.Dispose(); }
        Entries.Clear();
    }
}
