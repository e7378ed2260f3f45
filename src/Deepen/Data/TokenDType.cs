namespace Deepen.Data;

/// <summary>How a token id is stored in a shard: unsigned little-endian, 2 or 4 bytes.</summary>
public enum TokenDType
{
    UInt16 = 2,
    UInt32 = 4,
}

/// <summary>Choosing and describing <see cref="TokenDType"/>.</summary>
public static class TokenDTypes
{
    /// <summary>uint16 when every id of the vocabulary fits (VocabSize ≤ 65,536), else uint32.</summary>
    public static TokenDType ForVocabulary(int vocabSize) =>
        vocabSize <= 65_536 ? TokenDType.UInt16 : TokenDType.UInt32;

    public static int Bytes(this TokenDType dtype) => (int)dtype;

    /// <summary>The largest id the dtype can hold.</summary>
    public static long MaxId(this TokenDType dtype) => dtype == TokenDType.UInt16 ? ushort.MaxValue : uint.MaxValue;

    public static string Name(this TokenDType dtype) => dtype == TokenDType.UInt16 ? "uint16" : "uint32";
}
