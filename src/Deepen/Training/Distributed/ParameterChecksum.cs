using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Deepen.Training.Distributed;

/// <summary>
/// A 64-bit FNV-1a hash of tensors' bytes: equal on two ranks exactly when (barring collisions) their
/// weights are bit-identical, which data-parallel ranks must stay.
/// </summary>
public static class ParameterChecksum
{
    public static ulong Of(IEnumerable<Tensor> tensors)
    {
        ulong h = 14695981039346656037UL;
        foreach (var t in tensors)
        {
            using var scope = NewDisposeScope();
            var bytes = t.detach().cpu().contiguous().bytes;
            var words = MemoryMarshal.Cast<byte, ulong>(bytes);
            foreach (var w in words) h = (h ^ w) * 1099511628211UL;
            foreach (var b in bytes[(words.Length * sizeof(ulong))..]) h = (h ^ b) * 1099511628211UL;
        }
        return h;
    }
}
