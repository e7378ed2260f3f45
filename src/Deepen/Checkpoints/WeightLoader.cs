using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>Fills a module's parameters from a <see cref="TensorStore"/>, one tensor at a time.</summary>
public static class WeightLoader
{
    /// <summary>
    /// Copies every parameter of <paramref name="module"/> from the store, whose key is
    /// <paramref name="keyOf"/>(parameter name) (identity by default). Shapes are checked against the
    /// module (which the config built); a missing tensor is an error naming the key. Keys the module
    /// does not use are ignored.
    /// </summary>
    public static void Load(nn.Module module, TensorStore store, Func<string, string>? keyOf = null)
    {
        using var noGrad = no_grad();
        foreach (var (name, param) in module.named_parameters())
        {
            var key = keyOf?.Invoke(name) ?? name;
            if (!store.Contains(key))
                throw new DeepenException($"{store.Directory}: tensor '{key}' is missing from the checkpoint (needed for parameter '{name}').");
            using var scope = NewDisposeScope();
            var t = store.Read(key, param.shape, param.dtype);
            param.copy_(t.to(param.device));
        }
    }
}
