using static TorchSharp.torch;

namespace Deepen.Training.Distributed;

/// <summary>
/// Collectives on device (GPU) buffers, in place, for <see cref="GradientAllReducer"/> when the model
/// trains on a GPU: the NCCL plug-in point (docs/distributed.md). The ranks are launched and found by MPI
/// (<see cref="ICollective"/>); the device communicator is bootstrapped over it.
/// </summary>
public interface IDeviceCollective : IDisposable
{
    /// <summary>Replaces the contiguous float32 tensor on this rank's GPU by the element-wise sum over ranks.</summary>
    void AllReduceSum(Tensor deviceBuffer);

    /// <summary>Copies rank <paramref name="root"/>'s contiguous device tensor into every rank's.</summary>
    void Broadcast(Tensor deviceBuffer, int root);
}

/// <summary>
/// The NCCL implementation's place. This build has none: <see cref="Create"/> throws. An implementation
/// P/Invokes <c>libnccl.so.2</c>: rank 0 calls <c>ncclGetUniqueId</c>, the 128-byte id goes to every rank
/// with <see cref="ICollective.Broadcast"/>, each rank selects GPU <see cref="ICollective.LocalRank"/> and
/// calls <c>ncclCommInitRank(comm, WorldSize, id, Rank)</c>; <see cref="IDeviceCollective.AllReduceSum"/> is
/// <c>ncclAllReduce(buf, buf, n, ncclFloat32, ncclSum, comm, stream)</c> on the current CUDA stream, then a
/// stream synchronise. See docs/distributed.md.
/// </summary>
public static class NcclCollective
{
    /// <summary>Would create the NCCL communicator over <paramref name="bootstrap"/>'s ranks.</summary>
    /// <exception cref="DeepenException">Always: Deepen is not built with NCCL.</exception>
    public static IDeviceCollective Create(ICollective bootstrap) =>
        throw new DeepenException($"Deepen was not built with NCCL, so rank {bootstrap.Rank} cannot all-reduce on the GPU; " +
                                  "train on the CPU over MPI, or add an NCCL IDeviceCollective (docs/distributed.md).");
}
