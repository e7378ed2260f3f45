namespace Deepen.Training.Distributed;

/// <summary>
/// The collective operations data-parallel training needs, over host (CPU) memory: every rank calls
/// each operation in the same order, and it returns once all ranks have taken part. Implemented by
/// <see cref="MpiCollective"/> (Open MPI, a process per rank) and <see cref="SingleProcessCollective"/>
/// (one process: every operation is the identity). Device (GPU) buffers go through
/// <see cref="IDeviceCollective"/>, which NCCL implements.
/// </summary>
public interface ICollective : IDisposable
{
    /// <summary>This process's rank in [0, <see cref="WorldSize"/>); rank 0 logs and writes files.</summary>
    int Rank { get; }

    /// <summary>Number of processes (ranks) in the job.</summary>
    int WorldSize { get; }

    /// <summary>This process's rank among the ranks on its machine (the GPU it would use).</summary>
    int LocalRank { get; }

    /// <summary>Number of ranks on this machine, which share its cores.</summary>
    int LocalSize { get; }

    /// <summary>What it is, for logs: "single process", "Open MPI 4.1.4", ...</summary>
    string Description { get; }

    /// <summary>Replaces <paramref name="buffer"/>, on every rank, by the element-wise sum over ranks.</summary>
    void AllReduceSum(Span<float> buffer);

    /// <inheritdoc cref="AllReduceSum(Span{float})"/>
    void AllReduceSum(Span<double> buffer);

    /// <summary>Copies <paramref name="buffer"/> of rank <paramref name="root"/> into every rank's buffer of the same length.</summary>
    void Broadcast(Span<byte> buffer, int root);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>
    /// Ends every rank of the job at once with <paramref name="exitCode"/> (after this rank has said why):
    /// the way out of an error on one rank, which would otherwise leave the others waiting in a collective.
    /// Does not return.
    /// </summary>
    void Abort(int exitCode);
}
