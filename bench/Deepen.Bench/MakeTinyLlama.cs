using System.Text.Json;
using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using static TorchSharp.torch;

namespace Deepen.Bench;

/// <summary>
/// Writes a randomly initialised checkpoint with TinyLlama-1.1B's exact shapes (22 layers, d 2048,
/// 32 query / 4 KV heads, FFN 5632, vocab 32000) as sharded safetensors (BF16 by default), one tensor at
/// a time, for the load/convert benchmarks.
/// </summary>
public static class MakeTinyLlama
{
    public static int Run(string[] args)
    {
        var outDir = Measure.Arg(args, "--out", "/tmp/tinyllama-shaped");
        var dtype = Measure.Arg(args, "--dtype", "bf16") == "f32" ? ScalarType.Float32 : ScalarType.BFloat16;
        int layers = int.Parse(Measure.Arg(args, "--layers", "22")), shards = int.Parse(Measure.Arg(args, "--shards", "3"));
        const int d = 2048, heads = 32, kv = 4, hd = 64, ffn = 5632, vocab = 32000;
        var started = DateTime.UtcNow;
        Directory.CreateDirectory(outDir);
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama",
            ["vocab_size"] = vocab, ["hidden_size"] = d, ["intermediate_size"] = ffn, ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads, ["num_key_value_heads"] = kv, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0,
            ["max_position_embeddings"] = 2048, ["tie_word_embeddings"] = false, ["bos_token_id"] = 1, ["eos_token_id"] = 2,
            ["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32", ["hidden_act"] = "silu",
        };
        File.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        var specs = new List<TensorSpec> { new("model.embed_tokens.weight", [vocab, d], dtype) };
        for (int i = 0; i < layers; i++)
        {
            string l = $"model.layers.{i}.";
            specs.AddRange([
                new(l + "input_layernorm.weight", [d], dtype), new(l + "post_attention_layernorm.weight", [d], dtype),
                new(l + "self_attn.q_proj.weight", [heads * hd, d], dtype), new(l + "self_attn.k_proj.weight", [kv * hd, d], dtype),
                new(l + "self_attn.v_proj.weight", [kv * hd, d], dtype), new(l + "self_attn.o_proj.weight", [d, heads * hd], dtype),
                new(l + "mlp.gate_proj.weight", [ffn, d], dtype), new(l + "mlp.up_proj.weight", [ffn, d], dtype),
                new(l + "mlp.down_proj.weight", [d, ffn], dtype)]);
        }
        specs.AddRange([new("model.norm.weight", [d], dtype), new("lm_head.weight", [vocab, d], dtype)]);

        using var gen = new Generator(1234);
        Tensor Produce(string name) => name.EndsWith("norm.weight")
            ? ones(d)
            : randn(specs.First(s => s.Name == name).Shape, generator: gen).mul_(0.02);

        var weightMap = new JsonObject();
        int per = (specs.Count + shards - 1) / shards;
        for (int s = 0; s < shards; s++)
        {
            var file = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = specs.Skip(s * per).Take(per).ToList();
            SafetensorsWriter.WriteStreaming(Path.Combine(outDir, file), part, Produce, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var t in part) weightMap[t.Name] = file;
        }
        File.WriteAllText(Path.Combine(outDir, "model.safetensors.index.json"),
            new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap }.ToJsonString());
        long n = specs.Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b));
        Console.WriteLine($"wrote {outDir}: {n:N0} parameters, {shards} shards, {config["torch_dtype"]}, {(DateTime.UtcNow - started).TotalSeconds:F1} s, peak RSS {Measure.PeakRssMiB():F0} MiB");
        return 0;
    }
}
