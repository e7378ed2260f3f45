using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>Fills a module's parameters from a <see cref="TensorStore"/>, one tensor at a time.</summary>
public static class WeightLoader
{
    /// <summary>
    /// Copies every parameter of <paramref name="module"/> from the store: from the tensor of the same name (a checkpoint
    /// in the module's own layout), or, with <paramref name="partsOf"/>(name, shape), from the tensors it names, their rows
    /// concatenated in order (an HF checkpoint of a plain model, <see cref="HfLayout"/>). Shapes are checked against the
    /// module (which the config built); a missing tensor is an error naming the key. Keys the module does not use are ignored.
    /// </summary>
    public static void Load(nn.Module module, TensorStore store, Func<string, long[], IReadOnlyList<HfPart>>? partsOf = null)
    {
        using var noGrad = no_grad();
        foreach (var (name, param) in module.named_parameters())
        {
            using var scope = NewDisposeScope();
            var parts = partsOf?.Invoke(name, param.shape) ?? [new HfPart(name, param.shape[0])];
            var t = HfLayout.Joined(parts.Select(p => Read(store, p.Key, [p.Rows, .. param.shape.Skip(1)], param.dtype, name)).ToList());
            param.copy_(t.to(param.device));
        }
    }

    private static Tensor Read(TensorStore store, string key, long[] shape, ScalarType dtype, string parameter)
    {
        if (!store.Contains(key))
            throw new DeepenException($"{store.Directory}: tensor '{key}' is missing from the checkpoint (needed for parameter '{parameter}').");
        return store.Read(key, shape, dtype);
    }
}
