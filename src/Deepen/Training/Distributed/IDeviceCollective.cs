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
