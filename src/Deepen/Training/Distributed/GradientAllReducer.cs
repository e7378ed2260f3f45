using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Deepen.Training.Distributed;

/// <summary>
/// Averages gradients over ranks: the parameters' gradients are packed, in parameter order, into a few
/// large contiguous float32 buckets (25 MB by default; a larger parameter gets a bucket of its own); each
/// bucket is summed over ranks with one collective call, divided by the world size and copied back. A few
/// large messages instead of one per parameter keep the per-call latency out of the step time.
/// <para>
/// The buckets are allocated once and reused every step. They live in host memory and go through
/// <see cref="ICollective"/>; with an <see cref="IDeviceCollective"/> (NCCL) they live on the parameters'
/// device and are reduced there, without a copy to the host. A parameter without a gradient counts as
/// zeros and keeps no gradient (every rank runs the same recurrence draw, so all ranks agree on which
/// parameters have one).
/// </para>
/// </summary>
public sealed class GradientAllReducer : IDisposable
{
    /// <summary>The default bucket size: 25 MB (PyTorch DDP's default).</summary>
    public const long DefaultBucketBytes = 25L << 20;

    private readonly ICollective _collective;
    private readonly IDeviceCollective? _device;
    private readonly List<Bucket> _buckets = [];

    private sealed record Bucket(Parameter[] Parameters, long[] Offsets, Tensor Flat);

    /// <param name="parameters">The parameters whose gradients are averaged, in the same order on every rank.</param>
    /// <param name="collective">The ranks (host collectives).</param>
    /// <param name="bucketBytes">Bytes of float32 gradient per bucket.</param>
    /// <param name="device">A device collective (NCCL) for parameters on a GPU; null: reduce in host memory.</param>
    public GradientAllReducer(IReadOnlyList<Parameter> parameters, ICollective collective, long bucketBytes = DefaultBucketBytes, IDeviceCollective? device = null)
    {
        if (bucketBytes < sizeof(float)) throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "a bucket holds at least one float");
        _collective = collective;
        _device = device;
        long capacity = bucketBytes / sizeof(float);
        var current = new List<Parameter>();
        long elements = 0;
        foreach (var p in parameters)
        {
            bool otherDevice = current.Count > 0 && current[0].device.type != p.device.type;
            if (current.Count > 0 && (elements + p.numel() > capacity || otherDevice))
            {
                AddBucket(current, elements);
                (current, elements) = ([], 0);
            }
            current.Add(p);
            elements += p.numel();
        }
        if (current.Count > 0) AddBucket(current, elements);
    }

    /// <summary>Float32 elements in each bucket, in order.</summary>
    public IReadOnlyList<long> BucketElements => _buckets.Select(b => b.Flat.numel()).ToList();

    /// <summary>Replaces every parameter's gradient by its mean over ranks (a no-op for one rank).</summary>
    public void AllReduce()
    {
        if (_collective.WorldSize == 1) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var b in _buckets)
        {
            for (int i = 0; i < b.Parameters.Length; i++)
            {
                var slice = b.Flat.narrow(0, b.Offsets[i], b.Parameters[i].numel());   // (numel,)
                if (b.Parameters[i].grad is { } g) slice.copy_(g.reshape(-1));
                else slice.zero_();
            }
            Reduce(b.Flat);
            using (var world = _collective.WorldSize.ToScalar()) b.Flat.div_(world);   // held past the call (Torch/Scalars)
            for (int i = 0; i < b.Parameters.Length; i++)
                if (b.Parameters[i].grad is { } g)
                    g.copy_(b.Flat.narrow(0, b.Offsets[i], b.Parameters[i].numel()).view(g.shape));
        }
    }

    private void Reduce(Tensor flat)
    {
        if (flat.device.type != TorchSharp.DeviceType.CPU)
        {
            _device!.AllReduceSum(flat);
            return;
        }
        _collective.AllReduceSum(MemoryMarshal.Cast<byte, float>(flat.bytes));
    }

    private void AddBucket(List<Parameter> ps, long elements)
    {
        var device = _device is not null ? ps[0].device : CPU;
        var offsets = new long[ps.Count];
        for (int i = 1; i < ps.Count; i++) offsets[i] = offsets[i - 1] + ps[i - 1].numel();
        _buckets.Add(new Bucket([.. ps], offsets, empty([elements], ScalarType.Float32, device)));
    }

    public void Dispose()
    {
        foreach (var b in _buckets) b.Flat.Dispose();
        _buckets.Clear();
    }
}
