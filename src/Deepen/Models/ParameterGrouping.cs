using TorchSharp.Modules;

namespace Deepen.Models;

/// <summary>Which optimizer updates a parameter.</summary>
public enum OptimizerGroup { Muon, Adam }

/// <summary>A parameter with its state-dict name. <see cref="RowBlocks"/>, when set, splits a 2-D parameter into
/// consecutive row blocks that Muon orthogonalises as separate matrices: a plain model's fused <c>Wqkv</c> and <c>fc</c>
/// hold HF's q/k/v and gate/up matrices, which the paper's baseline trains as separate parameters.</summary>
public sealed record NamedParameter(string Name, Parameter Parameter)
{
    public IReadOnlyList<long>? RowBlocks { get; init; }
}

/// <summary>
/// The parameter grouping of method.md §6.1: a parameter whose name contains <c>norm</c>, <c>ln_f</c>,
/// <c>bias</c>, <c>wte</c>, <c>lm_head</c> or <c>embed_tokens</c> goes to Adam (norms, biases, embeddings, head;
/// this covers both the recurrent names and the HF names of the non-recurrent baseline); every other
/// 2-D parameter (attention and MLP matrices, the adapter) goes to Muon. A parameter that matches no
/// Adam rule and is not 2-D cannot be orthogonalised and also goes to Adam. Parameters with
/// <c>requires_grad = false</c> are left out. The Muon list is sorted deterministically by
/// (−numel, shape, name); the Adam list keeps the model's order with embeddings/head before norms, as [R] does.
/// </summary>
public static class ParameterGrouping
{
    private static readonly string[] AdamNameParts = ["norm", "ln_f", "bias", "wte", "lm_head", "embed_tokens"];
    private static readonly string[] EmbeddingNameParts = ["wte", "lm_head", "embed_tokens"];

    /// <summary>The group for a parameter name and shape.</summary>
    public static OptimizerGroup Classify(string name, IReadOnlyList<long> shape)
        => AdamNameParts.Any(name.Contains) || shape.Count != 2 ? OptimizerGroup.Adam : OptimizerGroup.Muon;

    /// <summary>Splits trainable parameters into the Muon and Adam groups; <paramref name="rowBlocks"/> gives a Muon
    /// parameter's row blocks (see <see cref="NamedParameter.RowBlocks"/>), null for a whole matrix.</summary>
    public static (IReadOnlyList<NamedParameter> Muon, IReadOnlyList<NamedParameter> Adam) Split(IEnumerable<(string name, Parameter parameter)> parameters,
        Func<string, Parameter, IReadOnlyList<long>?>? rowBlocks = null)
    {
        var muon = new List<NamedParameter>();
        var embeddings = new List<NamedParameter>();
        var others = new List<NamedParameter>();
        foreach (var (name, p) in parameters)
        {
            if (!p.requires_grad) continue;
            var np = new NamedParameter(name, p);
            if (Classify(name, p.shape) == OptimizerGroup.Muon) muon.Add(np with { RowBlocks = rowBlocks?.Invoke(name, p) });
            else if (EmbeddingNameParts.Any(name.Contains)) embeddings.Add(np);
            else others.Add(np);
        }
        muon.Sort(CompareMuonOrder);
        return (muon, [.. embeddings, .. others]);
    }

    /// <summary>(−numel, shape lexicographically, name ordinally).</summary>
    public static int CompareMuonOrder(NamedParameter x, NamedParameter y)
    {
        int c = y.Parameter.numel().CompareTo(x.Parameter.numel());
        if (c != 0) return c;
        long[] sx = x.Parameter.shape, sy = y.Parameter.shape;
        for (int i = 0; i < Math.Min(sx.Length, sy.Length); i++)
            if ((c = sx[i].CompareTo(sy[i])) != 0) return c;
        if ((c = sx.Length.CompareTo(sy.Length)) != 0) return c;
        return string.CompareOrdinal(x.Name, y.Name);
    }
}
