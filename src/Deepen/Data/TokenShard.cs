using System.IO.MemoryMappedFiles;

namespace Deepen.Data;

/// <summary>
/// A token shard opened for reading: the header is validated (magic, version, exact file length), then
/// the rows are memory-mapped, so opening a large shard costs nothing and a row read is a copy from the
/// page cache.
/// </summary>
public sealed unsafe class TokenShard : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private bool _disposed;

    public string Path { get; }
    public TokenShardHeader Header { get; }
    public long RowCount => Header.RowCount;
    public int RowLength => Header.RowLength;
    public TokenDType DType => Header.DType;

    private TokenShard(string path, TokenShardHeader header)
    {
        Path = path; Header = header;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _base = p + _view.PointerOffset;
        }
        catch
        {
            _view?.Dispose();
            _file.Dispose();
            throw;
        }
    }

    /// <summary>Opens <paramref name="path"/>; with <paramref name="expectedFingerprint"/>, a shard made by another tokenizer is refused.</summary>
    public static TokenShard Open(string path, string? expectedFingerprint = null)
    {
        var header = TokenShardHeader.Read(path);
        if (expectedFingerprint is not null && header.Metadata.TokenizerFingerprint != expectedFingerprint)
            throw new DeepenException(
                $"{path}: the shard was tokenized with tokenizer {header.Metadata.TokenizerFingerprint}, but the model's tokenizer is {expectedFingerprint}; " +
                "prepare the data again with this model's tokenizer (deepen data prepare --tokenizer MODEL_DIR).");
        return new TokenShard(path, header);
    }

    /// <summary>Copies <c>dest.Length</c> tokens of row <paramref name="row"/>, starting at token <paramref name="start"/>, widened to int64 (the dtype of model inputs).</summary>
    public void ReadRow(long row, int start, Span<long> dest)
    {
        CheckRange(row, start, dest.Length);
        byte* p = RowPointer(row, start);
        if (DType == TokenDType.UInt16)
        {
            var src = new ReadOnlySpan<ushort>(p, dest.Length);
            for (int i = 0; i < src.Length; i++) dest[i] = src[i];
        }
        else
        {
            var src = new ReadOnlySpan<uint>(p, dest.Length);
            for (int i = 0; i < src.Length; i++) dest[i] = src[i];
        }
    }

    private byte* RowPointer(long row, int start) =>
        _base + Header.DataOffset + row * Header.RowBytes + (long)start * DType.Bytes();

    private void CheckRange(long row, int start, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((ulong)row >= (ulong)RowCount) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} of {Path}, which has {RowCount} rows.");
        if (start < 0 || count < 0 || start + count > RowLength)
            throw new ArgumentOutOfRangeException(nameof(start), $"tokens [{start}, {start + count}) of a {RowLength}-token row.");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
