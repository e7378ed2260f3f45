using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>Fills a module's parameters from a <see cref="TensorStore"/>, one tensor at a time.</summary>
public static class WeightLoader
{
    /// <summary>
    /// Copies every parameter of <paramref name="module"/> from the store tensor of the same name (a checkpoint in the
    /// module's own layout; HF checkpoints of a plain model go through <see cref="HfLayout"/>). Shapes are checked against
    /// the module (which the config built); a missing tensor is an error naming the key. Keys the module does not use are ignored.
    /// </summary>
    public static void Load(nn.Module module, TensorStore store)
    {
        using var noGrad = no_grad();
        foreach (var (name, param) in module.named_parameters())
        {
            if (!store.Contains(name))
                throw new DeepenException($"{store.Directory}: tensor '{name}' is missing from the checkpoint.");
            using var scope = NewDisposeScope();
            var t = store.Read(name, param.shape, param.dtype);
            param.copy_(t.to(param.device));
        }
    }
}
