using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Deepen.Modeling;

/// <summary>
/// A bias-free linear layer, <c>y = x Wᵀ</c>, whose weight is allocated uninitialised in the requested
/// dtype (checkpoints overwrite it; <see cref="ModelInit"/> fills it for random models). When the input
/// is bfloat16 and the weight float32 (mixed precision with fp32 master weights), the weight is cast to
/// the input's dtype for the matmul.
/// </summary>
public sealed class Projection : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;   // (out, in)

    public Projection(long inFeatures, long outFeatures, ScalarType dtype, Device? device = null) : base(nameof(Projection))
    {
        weight = new Parameter(empty(outFeatures, inFeatures, dtype: dtype, device: device));
        register_parameter(nameof(weight), weight);
    }

    public override Tensor forward(Tensor x)   // (..., in) → (..., out)
    {
        if (MixedPrecision.MatmulDType is { } md && md != x.dtype)
            return nn.functional.linear(x.to_type(md), weight.to_type(md)).to_type(x.dtype);
        var w = weight.dtype == x.dtype ? (Tensor)weight : weight.to_type(x.dtype);
        return nn.functional.linear(x, w);
    }
}

/// <summary>A token embedding table <c>weight: (V, d)</c>, allocated uninitialised.</summary>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;   // (V, d)

    public TokenEmbedding(long vocab, long dim, ScalarType dtype, Device? device = null) : base(nameof(TokenEmbedding))
    {
        weight = new Parameter(empty(vocab, dim, dtype: dtype, device: device));
        register_parameter(nameof(weight), weight);
    }

    public override Tensor forward(Tensor ids) => weight.index_select(0, ids.flatten()).view([.. ids.shape, weight.shape[1]]);   // (B, T) → (B, T, d)
}
