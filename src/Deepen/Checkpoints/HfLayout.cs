using System.Text.Json;
using System.Text.Json.Nodes;
using Deepen.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>One HF tensor held by a module parameter: its key and how many of the parameter's rows it fills.</summary>
public sealed record HfPart(string Key, long Rows);

/// <summary>
/// The map between a plain model's parameters (<see cref="LlamaModel"/>, whose layers are the shared
/// <see cref="TransformerBlock"/>) and the keys of an HF checkpoint. Outside the layers the keys are equal. Inside layer N:
/// <c>attn.Wqkv</c> holds rows [q_proj; k_proj; v_proj] of <c>self_attn</c>, <c>mlp.fc</c> holds [gate_proj; up_proj],
/// <c>attn.proj</c> is <c>self_attn.o_proj</c>, <c>mlp.proj</c> is <c>mlp.down_proj</c>, the QK-norms keep their names
/// under <c>self_attn</c>, and <c>norm_1</c>/<c>norm_2</c> are <c>input_layernorm</c>/<c>post_attention_layernorm</c>
/// (Llama, pre-norm) or <c>post_attention_layernorm</c>/<c>post_feedforward_layernorm</c> (OLMo-2, post-norm).
/// The same map reads a model, writes one, checks a directory's shapes and feeds the conversion.
/// </summary>
public static class HfLayout
{
    private const string LayerPrefix = "model.layers.";

    /// <summary>The HF tensors that parameter <paramref name="name"/> of shape <paramref name="shape"/> holds, in row order.</summary>
    public static IReadOnlyList<HfPart> PartsOf(string name, IReadOnlyList<long> shape, ModelConfig c)
    {
        if (!name.StartsWith(LayerPrefix, StringComparison.Ordinal)) return [new(name, shape[0])];
        int dot = name.IndexOf('.', LayerPrefix.Length);
        return LayerParts(name[..(dot + 1)], name[(dot + 1)..], c);
    }

    /// <summary>
    /// The HF tensors of layer <paramref name="layer"/> (e.g. <c>model.layers.3.</c>) that the block key
    /// <paramref name="blockKey"/> (e.g. <c>attn.Wqkv.weight</c>) holds, in row order.
    /// </summary>
    public static IReadOnlyList<HfPart> LayerParts(string layer, string blockKey, ModelConfig c)
    {
        bool olmo = c.Style == BlockStyle.PostNormQkNorm;
        long q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKvHeads * c.HeadDim;
        HfPart One(string key, long rows) => new(layer + key, rows);
        return blockKey switch
        {
            "attn.Wqkv.weight" => [One("self_attn.q_proj.weight", q), One("self_attn.k_proj.weight", kv), One("self_attn.v_proj.weight", kv)],
            "attn.proj.weight" => [One("self_attn.o_proj.weight", c.HiddenSize)],
            "attn.q_norm.weight" => [One("self_attn.q_norm.weight", q)],
            "attn.k_norm.weight" => [One("self_attn.k_norm.weight", kv)],
            "mlp.fc.weight" => [One("mlp.gate_proj.weight", c.IntermediateSize), One("mlp.up_proj.weight", c.IntermediateSize)],
            "mlp.proj.weight" => [One("mlp.down_proj.weight", c.HiddenSize)],
            "norm_1.weight" => [One(olmo ? "post_attention_layernorm.weight" : "input_layernorm.weight", c.HiddenSize)],
            "norm_2.weight" => [One(olmo ? "post_feedforward_layernorm.weight" : "post_attention_layernorm.weight", c.HiddenSize)],
            _ => throw new InvalidOperationException($"no HF key for block key '{blockKey}'"),
        };
    }

    /// <summary>The row counts of <paramref name="name"/>'s HF tensors when it holds more than one (a fused
    /// <c>Wqkv</c> or <c>fc</c>), else null: what a plain model's optimizer treats as separate matrices.</summary>
    public static IReadOnlyList<long>? RowBlocks(string name, IReadOnlyList<long> shape, ModelConfig c) =>
        PartsOf(name, shape, c) is { Count: > 1 } parts ? parts.Select(p => p.Rows).ToArray() : null;

    /// <summary>HF key → shape of every tensor a model of this config stores, from the parameters' shapes.</summary>
    public static Dictionary<string, long[]> Shapes(IReadOnlyDictionary<string, long[]> parameterShapes, ModelConfig c)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (name, shape) in parameterShapes)
            foreach (var part in PartsOf(name, shape, c))
                shapes.Add(part.Key, [part.Rows, .. shape.Skip(1)]);
        return shapes;
    }

    /// <summary>Copies every parameter of <paramref name="model"/> from an HF store; a missing or misshapen tensor is an error naming its key.</summary>
    public static void Load(LlamaModel model, TensorStore store) =>
        WeightLoader.Load(model, store, (name, shape) => PartsOf(name, shape, model.Config));

    /// <summary>The model's tensors under their HF keys (a fused parameter as row views of itself, in HF order).</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> Tensors(LlamaModel model) =>
        model.named_parameters().SelectMany(p => Split(p.parameter, PartsOf(p.name, p.parameter.shape, model.Config)));

    /// <summary>Writes <paramref name="model"/> into <paramref name="dir"/> as an HF directory: <paramref name="config"/> as
    /// config.json and the weights under HF's keys, converted to <paramref name="dtype"/> when given.</summary>
    public static void Write(string dir, LlamaModel model, JsonObject config, ScalarType? dtype = null)
    {
        File.WriteAllText(Path.Combine(dir, HfConfig.FileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        using var scope = NewDisposeScope();   // frees the row views of the fused parameters
        SafetensorsWriter.Write(Path.Combine(dir, TensorStore.SingleFile), Tensors(model), dtype,
            new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>One tensor per part, <paramref name="t"/>'s rows in order: <paramref name="t"/> itself for a single part,
    /// else row views of it, each under <paramref name="prefix"/> + the part's key.</summary>
    private static IEnumerable<KeyValuePair<string, Tensor>> Split(Tensor t, IReadOnlyList<HfPart> parts, string prefix = "")
    {
        long row = 0;
        foreach (var part in parts)
        {
            yield return new(prefix + part.Key, parts.Count == 1 ? t : t.narrow(0, row, part.Rows));
            row += part.Rows;
        }
    }

    /// <summary>The parts' tensors as one, their rows concatenated in order (the inverse of a split).</summary>
    public static Tensor Joined(IReadOnlyList<Tensor> parts) => parts.Count == 1 ? parts[0] : cat(parts.ToList(), 0);

    /// <summary>
    /// Per-parameter state (an optimizer's moments, named <c>prefix.parameter</c>, e.g. <c>muon.momentum.model.layers.0.attn.Wqkv.weight</c>)
    /// under HF's keys, as the weights are written: a fused parameter's entry becomes row views of it, one per HF tensor
    /// (<c>muon.momentum.model.layers.0.self_attn.q_proj.weight</c>, ...). Entries that name no parameter pass unchanged.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> StateToHf(IEnumerable<KeyValuePair<string, Tensor>> state, LlamaModel model)
    {
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape, StringComparer.Ordinal);
        foreach (var (key, t) in state)
        {
            if (SplitStateKey(key, shapes.ContainsKey) is not var (prefix, name) || t.dim() == 0 || t.shape[0] != shapes[name][0])
            {
                yield return new(key, t);
                continue;
            }
            foreach (var entry in Split(t, PartsOf(name, shapes[name], model.Config), prefix)) yield return entry;
        }
    }

    /// <summary>The inverse of <see cref="StateToHf"/>: entries under HF's keys gathered into the parameters' (a fused
    /// parameter's rows concatenated in order). A parameter whose HF entries are not all present is left out, so the
    /// optimizer names what is missing.</summary>
    public static Dictionary<string, Tensor> StateFromHf(IReadOnlyDictionary<string, Tensor> state, LlamaModel model)
    {
        var owner = new Dictionary<string, (string Name, int Index, int Count)>(StringComparer.Ordinal);
        foreach (var (name, p) in model.named_parameters())
        {
            var parts = PartsOf(name, p.shape, model.Config);
            for (int i = 0; i < parts.Count; i++) owner[parts[i].Key] = (name, i, parts.Count);
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var pieces = new Dictionary<string, Tensor?[]>(StringComparer.Ordinal);
        foreach (var (key, t) in state)
        {
            if (SplitStateKey(key, owner.ContainsKey) is not var (prefix, hfKey)) { result[key] = t; continue; }
            var (name, index, count) = owner[hfKey];
            if (!pieces.TryGetValue(prefix + name, out var slots)) pieces[prefix + name] = slots = new Tensor?[count];
            slots[index] = t;
        }
        foreach (var (key, slots) in pieces)
            if (slots.All(s => s is not null)) result[key] = Joined(slots.Select(s => s!).ToList());
        return result;
    }

    /// <summary>(prefix ending in '.', name) for the first split of <paramref name="key"/> whose rest is a known name.</summary>
    private static (string Prefix, string Name)? SplitStateKey(string key, Func<string, bool> known)
    {
        for (int i = key.IndexOf('.'); i >= 0; i = key.IndexOf('.', i + 1))
            if (known(key[(i + 1)..])) return (key[..(i + 1)], key[(i + 1)..]);
        return null;
    }
}
