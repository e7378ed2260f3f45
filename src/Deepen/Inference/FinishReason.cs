namespace Deepen.Inference;

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>A stop string appeared.</summary>
    Stop,
    /// <summary>The model produced its end-of-sequence token.</summary>
    Eos,
    /// <summary>The token budget ran out.</summary>
    Length,
}
