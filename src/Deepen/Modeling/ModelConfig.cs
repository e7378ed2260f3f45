namespace Deepen.Modeling;

/// <summary>How a decoder layer places its norms.</summary>
public enum BlockStyle
{
    /// <summary>Llama / TinyLlama: <c>x + attn(norm_1(x))</c>, <c>x + mlp(norm_2(x))</c>.</summary>
    PreNorm,
    /// <summary>OLMo-2: <c>x + norm_1(attn(x))</c>, <c>x + norm_2(mlp(x))</c>, with QK-norm inside attention.</summary>
    PostNormQkNorm,
}

/// <summary>Llama-3 rope frequency scaling (<c>rope_scaling.rope_type = "llama3"</c>).</summary>
public sealed record RopeScaling(
    string RopeType, double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings);

/// <summary>
/// The shape of a Llama-family decoder, shared by the plain model (read from an HF <c>config.json</c>)
/// and the recurrent model (read from a Raven <c>config.json</c>).
/// </summary>
public sealed record ModelConfig
{
    public required string ModelType { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required double RmsNormEps { get; init; }
    public required double RopeTheta { get; init; }
    public RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public string? TorchDtype { get; init; }
    public BlockStyle Style { get; init; } = BlockStyle.PreNorm;

    public int QkvRows => (NumHeads + 2 * NumKvHeads) * HeadDim;

    /// <summary>Parameters of one decoder layer (attention, MLP, norms).</summary>
    public long ParamsPerLayer =>
        (long)QkvRows * HiddenSize + (long)HiddenSize * NumHeads * HeadDim
        + 3L * HiddenSize * IntermediateSize + 2L * HiddenSize
        + (Style == BlockStyle.PostNormQkNorm ? (long)(NumHeads + NumKvHeads) * HeadDim : 0);
}
