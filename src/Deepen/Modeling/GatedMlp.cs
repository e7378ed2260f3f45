using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Modeling;

/// <summary>The MLP of every block (Raven <c>mlp</c>): fused <c>fc</c> with rows [gate; up], output <c>proj(silu(gate) ⊙ up)</c>.</summary>
public sealed class GatedMlp : nn.Module<Tensor, Tensor>
{
    public readonly Projection fc, proj;

    public GatedMlp(ModelConfig c, ScalarType dtype, Device? device) : base("mlp")
    {
        fc = new Projection(c.HiddenSize, 2L * c.IntermediateSize, dtype, device);
        proj = new Projection(c.IntermediateSize, c.HiddenSize, dtype, device);
        register_module(nameof(fc), fc);
        register_module(nameof(proj), proj);
    }

    public override Tensor forward(Tensor x)   // (B, T, d) → (B, T, d)
    {
        var gateUp = fc.forward(x).chunk(2, -1);                      // (B, T, I) ×2
        return proj.forward(nn.functional.silu(gateUp[0]) * gateUp[1]);
    }
}
