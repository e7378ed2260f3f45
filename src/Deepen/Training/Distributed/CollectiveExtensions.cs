using System.Text;

namespace Deepen.Training.Distributed;

/// <summary>Collectives built from the primitive ones: strings and 64-bit values.</summary>
public static class CollectiveExtensions
{
    /// <summary>Rank <paramref name="root"/>'s string (null allowed) on every rank.</summary>
    public static string? BroadcastString(this ICollective c, string? value, int root = 0)
    {
        if (c.WorldSize == 1) return value;
        var bytes = c.Rank == root && value is not null ? Encoding.UTF8.GetBytes(value) : [];
        long length = c.BroadcastInt64(c.Rank == root ? (value is null ? -1 : bytes.Length) : 0, root);
        if (length < 0) return null;
        if (c.Rank != root) bytes = new byte[length];
        c.Broadcast(bytes, root);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Rank <paramref name="root"/>'s value on every rank.</summary>
    public static long BroadcastInt64(this ICollective c, long value, int root = 0)
    {
        Span<byte> buffer = stackalloc byte[sizeof(long)];
        BitConverter.TryWriteBytes(buffer, value);
        c.Broadcast(buffer, root);
        return BitConverter.ToInt64(buffer);
    }

    /// <summary>Every rank's string, indexed by rank, on every rank (one broadcast per rank: for rare, small data).</summary>
    public static string[] AllGatherStrings(this ICollective c, string value)
    {
        var all = new string[c.WorldSize];
        for (int r = 0; r < c.WorldSize; r++) all[r] = c.BroadcastString(r == c.Rank ? value : null, r)!;
        return all;
    }

    /// <summary>The sum over ranks of one value.</summary>
    public static double AllReduceSum(this ICollective c, double value)
    {
        Span<double> buffer = [value];
        c.AllReduceSum(buffer);
        return buffer[0];
    }
}
