using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Deepen.Data;

/// <summary>
/// The header of a token shard file (docs/formats/token-shards.md). Layout, little-endian:
/// <code>
///  0  8  magic "DPTOKENS"
///  8  4  u32 version (1)
/// 12  4  u32 bytes per token (2 = uint16, 4 = uint32)
/// 16  4  u32 row length L (tokens per row = seq_len + 1)
/// 20  4  u32 metadata length M (bytes of UTF-8 JSON)
/// 24  8  u64 row count N
/// 32  8  u64 data offset D (a multiple of 64, ≥ 48 + M)
/// 40  8  reserved, zero
/// 48  M  metadata JSON (<see cref="TokenShardMetadata"/>), then zero padding up to D
///  D     N × L token ids, row after row; the file ends exactly at D + N·L·bytes
/// </code>
/// </summary>
public sealed record TokenShardHeader(int Version, TokenDType DType, int RowLength, long RowCount, long DataOffset, TokenShardMetadata Metadata)
{
    public static ReadOnlySpan<byte> Magic => "DPTOKENS"u8;
    public const int CurrentVersion = 1;
    public const int FixedSize = 48;
    public const int Alignment = 64;

    private static readonly JsonSerializerOptions MetadataJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Bytes of one row.</summary>
    public long RowBytes => (long)RowLength * DType.Bytes();

    /// <summary>The exact size a file with this header must have.</summary>
    public long FileLength => DataOffset + RowCount * RowBytes;

    /// <summary>The header bytes (fixed fields, JSON, padding) for a file that starts with them; <see cref="DataOffset"/> is recomputed.</summary>
    public static byte[] Encode(TokenDType dtype, int rowLength, long rowCount, TokenShardMetadata metadata)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(metadata, MetadataJson);
        long dataOffset = (FixedSize + json.Length + Alignment - 1) / Alignment * Alignment;
        var bytes = new byte[dataOffset];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), (uint)dtype.Bytes());
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), (uint)rowLength);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), (uint)json.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), (ulong)rowCount);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(32), (ulong)dataOffset);
        json.CopyTo(bytes, FixedSize);
        return bytes;
    }

    /// <summary>Reads and validates the header of <paramref name="path"/>: magic, version, dtype, and that the file length matches exactly.</summary>
    public static TokenShardHeader Read(string path)
    {
        if (!File.Exists(path)) throw new DeepenException($"{path}: token shard not found.");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = fs.Length;
        Span<byte> fixedPart = stackalloc byte[FixedSize];
        int got = fs.ReadAtLeast(fixedPart, FixedSize, throwOnEndOfStream: false);
        if (got < Magic.Length || !fixedPart[..Magic.Length].SequenceEqual(Magic))
            throw new DeepenException($"{path}: not a Deepen token shard (the file starts with '{Printable(fixedPart[..Math.Min(got, Magic.Length)])}', expected the magic 'DPTOKENS').");
        if (got < FixedSize)
            throw new DeepenException($"{path}: truncated token shard ({length} bytes; the fixed header alone is {FixedSize}).");
        int version = (int)BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[8..]);
        if (version != CurrentVersion)
            throw new DeepenException($"{path}: token shard version {version} is not supported (this build reads version {CurrentVersion}).");
        uint tokenBytes = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[12..]);
        if (tokenBytes is not (2 or 4))
            throw new DeepenException($"{path}: corrupt token shard header: {tokenBytes} bytes per token (expected 2 or 4).");
        uint rowLength = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[16..]);
        uint metaLength = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[20..]);
        ulong rowCount = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[24..]);
        ulong dataOffset = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[32..]);
        if (rowLength < 2 || rowLength > int.MaxValue / 4 || dataOffset < FixedSize + (ulong)metaLength || rowCount > long.MaxValue / 4)
            throw new DeepenException($"{path}: corrupt token shard header (row length {rowLength}, metadata {metaLength} bytes, data offset {dataOffset}, rows {rowCount}).");
        if ((ulong)length < dataOffset)
            throw new DeepenException($"{path}: truncated token shard ({length} bytes; its header alone is {dataOffset}).");
        var json = new byte[metaLength];
        fs.ReadExactly(json);
        TokenShardMetadata metadata;
        try { metadata = JsonSerializer.Deserialize<TokenShardMetadata>(json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new DeepenException($"{path}: token shard metadata is not valid JSON ({e.Message}).", e); }
        var header = new TokenShardHeader(version, (TokenDType)tokenBytes, (int)rowLength, (long)rowCount, (long)dataOffset, metadata);
        if (length != header.FileLength)
            throw new DeepenException($"{path}: {(length < header.FileLength ? "truncated" : "oversized")} token shard: the header says {rowCount} rows × {rowLength} tokens × {tokenBytes} bytes after offset {dataOffset} = {header.FileLength} bytes, but the file has {length}.");
        return header;
    }

    private static string Printable(ReadOnlySpan<byte> bytes) =>
        new([.. bytes.ToArray().Select(b => b is >= 32 and < 127 ? (char)b : '.')]);
}
