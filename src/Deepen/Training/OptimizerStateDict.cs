using Deepen.Checkpoints;
using static TorchSharp.torch;

namespace Deepen.Training;

/// <summary>Optimizer state tensors by name (owned copies; disposing the state disposes them).</summary>
public sealed class OptimizerStateDict : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    /// <summary>Adds a tensor; the state takes ownership.</summary>
    public void Add(string name, Tensor tensor) { _tensors.Add(name, tensor); _order.Add(name); }

    public Tensor this[string key] => _tensors[key];
    public IEnumerable<string> Keys => _order;
    public IEnumerable<Tensor> Values => _order.Select(k => _tensors[k]);
    public int Count => _tensors.Count;
    public bool ContainsKey(string key) => _tensors.ContainsKey(key);
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) => _tensors.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => _order.Select(k => new KeyValuePair<string, Tensor>(k, _tensors[k])).GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
        _order.Clear();
    }

    /// <summary>Writes the state of <paramref name="optimizer"/> to a safetensors file (temporary file, then rename), its
    /// entries named by <paramref name="toFile"/> (e.g. <c>DeepenModel.StateToCheckpoint</c>; default: as they are).</summary>
    public static void Save(ITrainingOptimizer optimizer, string path,
        Func<IEnumerable<KeyValuePair<string, Tensor>>, IEnumerable<KeyValuePair<string, Tensor>>>? toFile = null)
    {
        using var state = optimizer.StateDict();
        using var scope = NewDisposeScope();   // frees the views a renaming makes
        SafetensorsWriter.Write(path, toFile is null ? state : toFile(state).ToList(), metadata: new Dictionary<string, string> { ["format"] = "pt", ["content"] = "optimizer-state" });
    }

    /// <summary>Loads a safetensors file written by <see cref="Save"/> into <paramref name="optimizer"/>, its entries
    /// renamed by <paramref name="fromFile"/> (the inverse of <see cref="Save"/>'s; default: as they are).</summary>
    public static void Load(ITrainingOptimizer optimizer, string path,
        Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? fromFile = null)
    {
        if (!File.Exists(path)) throw new DeepenException($"{path}: optimizer state file not found.");
        using var file = SafetensorsFile.Open(path);
        using var scope = NewDisposeScope();   // the renamed entries (a fused parameter's rows concatenated) are temporaries
        using var state = new OptimizerStateDict();
        foreach (var name in file.Entries.Keys) state.Add(name, file.Read(name));
        try { optimizer.LoadStateDict(fromFile is null ? state : fromFile(state)); }
        catch (DeepenException e) { throw new DeepenException($"{path}: {e.Message}", e); }
    }

    /// <summary>Copies <paramref name="source"/>[<paramref name="name"/>] into <paramref name="target"/>, checking the shape.</summary>
    internal static void CopyInto(IReadOnlyDictionary<string, Tensor> source, string name, Tensor target)
    {
        if (!source.TryGetValue(name, out var t))
            throw new DeepenException($"optimizer state has no entry '{name}'; expected a tensor of shape [{string.Join(", ", target.shape)}].");
        if (!t.shape.SequenceEqual(target.shape))
            throw new DeepenException($"optimizer state entry '{name}' has shape [{string.Join(", ", t.shape)}]; expected [{string.Join(", ", target.shape)}].");
        using var noGrad = no_grad();
        target.copy_(t);
    }

    /// <summary>Reads the int64 scalar <paramref name="name"/>.</summary>
    internal static long ReadCounter(IReadOnlyDictionary<string, Tensor> source, string name)
    {
        if (!source.TryGetValue(name, out var t))
            throw new DeepenException($"optimizer state has no entry '{name}'; expected an int64 step counter.");
        if (t.numel() != 1 || t.dtype != ScalarType.Int64)
            throw new DeepenException($"optimizer state entry '{name}' is {t.dtype} of shape [{string.Join(", ", t.shape)}]; expected an int64 scalar.");
        return t.item<long>();
    }

    /// <summary>Checks that <paramref name="source"/> holds nothing besides <paramref name="expected"/>.</summary>
    internal static void RejectUnknown(IReadOnlyDictionary<string, Tensor> source, IEnumerable<string> expected)
    {
        var known = expected.ToHashSet(StringComparer.Ordinal);
        var extra = source.Keys.Where(k => !known.Contains(k)).Take(3).ToList();
        if (extra.Count > 0)
            throw new DeepenException($"optimizer state has unexpected entries ({string.Join(", ", extra)}); it was written for a different model or optimizer.");
    }

    internal static Tensor Counter(long value) => tensor(value, dtype: ScalarType.Int64);   // host: a step count, kept on the CPU as PyTorch's optimizers keep theirs
}
