using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Deepen.Data;

/// <summary>
/// Writes a token shard row by row into a temporary file next to the target; <see cref="Complete"/>
/// writes the row count into the header and renames the file into place. Disposed without
/// <see cref="Complete"/>, the temporary file is deleted, so no half-written shard is ever left.
/// </summary>
public sealed class TokenShardWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _tmp;
    private readonly byte[] _rowBuffer;
    private bool _completed;

    public string Path { get; }
    public TokenDType DType { get; }
    public int RowLength { get; }
    public long RowCount { get; private set; }

    public TokenShardWriter(string path, TokenDType dtype, int rowLength, TokenShardMetadata metadata)
    {
        if (rowLength < 2) throw new ArgumentOutOfRangeException(nameof(rowLength), "a row needs at least 2 tokens (one input, one label).");
        Path = path; DType = dtype; RowLength = rowLength;
        _rowBuffer = new byte[(long)rowLength * dtype.Bytes()];
        _tmp = path + ".tmp-" + Environment.ProcessId;
        _stream = new FileStream(_tmp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        _stream.Write(TokenShardHeader.Encode(dtype, rowLength, 0, metadata));
    }

    /// <summary>Appends one row of exactly <see cref="RowLength"/> ids; each must fit <see cref="DType"/>.</summary>
    public void WriteRow(ReadOnlySpan<int> ids)
    {
        if (ids.Length != RowLength) throw new ArgumentException($"row has {ids.Length} tokens, expected {RowLength}.", nameof(ids));
        TokenRowCodec.Encode(ids, DType, _rowBuffer, Path);
        _stream.Write(_rowBuffer);
        RowCount++;
    }

    /// <summary>Appends one row already encoded in <see cref="DType"/> (little-endian), e.g. copied from another shard.</summary>
    public void WriteRowBytes(ReadOnlySpan<byte> row)
    {
        if (row.Length != _rowBuffer.Length) throw new ArgumentException($"row has {row.Length} bytes, expected {_rowBuffer.Length}.", nameof(row));
        _stream.Write(row);
        RowCount++;
    }

    /// <summary>Finalises the header and moves the file to <see cref="Path"/>.</summary>
    public void Complete()
    {
        Span<byte> count = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(count, (ulong)RowCount);
        _stream.Position = 24;
        _stream.Write(count);
        _stream.Flush(flushToDisk: false);
        _stream.Dispose();
        File.Move(_tmp, Path, overwrite: true);
        _completed = true;
    }

    public void Dispose()
    {
        if (_completed) return;
        _stream.Dispose();
        try { File.Delete(_tmp); } catch (IOException) { }
    }
}

/// <summary>Converts rows between int ids and their stored little-endian form.</summary>
internal static class TokenRowCodec
{
    /// <summary>Encodes <paramref name="ids"/> into <paramref name="dest"/>; an id outside the dtype's range is an error naming <paramref name="what"/>.</summary>
    public static void Encode(ReadOnlySpan<int> ids, TokenDType dtype, Span<byte> dest, string what)
    {
        if (dtype == TokenDType.UInt16)
        {
            var d = MemoryMarshal.Cast<byte, ushort>(dest);
            for (int i = 0; i < ids.Length; i++)
            {
                int id = ids[i];
                if ((uint)id > ushort.MaxValue) throw OutOfRange(id, dtype, what);
                d[i] = (ushort)id;
            }
        }
        else
        {
            var d = MemoryMarshal.Cast<byte, uint>(dest);
            for (int i = 0; i < ids.Length; i++)
            {
                if (ids[i] < 0) throw OutOfRange(ids[i], dtype, what);
                d[i] = (uint)ids[i];
            }
        }
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("token shards are little-endian; big-endian hosts are not supported.");
    }

    private static DeepenException OutOfRange(int id, TokenDType dtype, string what) =>
        new($"{what}: token id {id} does not fit the shard's {dtype.Name()} (0..{dtype.MaxId()}); the tokenizer's VocabSize understates its ids.");
}
