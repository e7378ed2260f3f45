namespace Deepen.Training.Distributed;

/// <summary>One process, no peers: the sums and broadcasts leave the buffers as they are.</summary>
public sealed class SingleProcessCollective : ICollective
{
    /// <summary>The one instance (it holds nothing).</summary>
    public static SingleProcessCollective Instance { get; } = new();

    private SingleProcessCollective() { }

    public int Rank => 0;
    public int WorldSize => 1;
    public int LocalRank => 0;
    public int LocalSize => 1;
    public string Description => "single process";
    public void AllReduceSum(Span<float> buffer) { }
    public void AllReduceSum(Span<double> buffer) { }
    public void Broadcast(Span<byte> buffer, int root) { if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "a single process has only rank 0"); }
    public void Barrier() { }
    public void Abort(int exitCode) => Environment.Exit(exitCode);
    public void Dispose() { }
}
