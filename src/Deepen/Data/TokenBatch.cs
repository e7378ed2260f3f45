using static TorchSharp.torch;

namespace Deepen.Data;

/// <summary>
/// One rank's micro-batch: <see cref="Inputs"/> and <see cref="Labels"/> are int64 (B, T) with
/// labels = inputs shifted by one token (row[:-1], row[1:] for full rows). <see cref="Rows"/> are the
/// global row indices the sequences came from (a row appears several times, in order, when it was split).
/// </summary>
public sealed class TokenBatch(Tensor inputs, Tensor labels, long[] rows, int epoch) : IDisposable
{
    public Tensor Inputs { get; } = inputs;   // (B, T) int64
    public Tensor Labels { get; } = labels;   // (B, T) int64
    public long[] Rows { get; } = rows;
    public int Epoch { get; } = epoch;

    /// <summary>This batch when it is already on <paramref name="device"/>; else a copy there, and this one is disposed.</summary>
    public TokenBatch To(Device device)
    {
        if (Deepen.Torch.ComputeDevice.Same(Inputs.device, device)) return this;
        var moved = new TokenBatch(Inputs.to(device), Labels.to(device), Rows, Epoch);
        Dispose();
        return moved;
    }

    public void Dispose()
    {
        Inputs.Dispose();
        Labels.Dispose();
    }
}
