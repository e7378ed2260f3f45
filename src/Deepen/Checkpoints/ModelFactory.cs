using System.Text.Json.Nodes;
using Deepen.Modeling;
using Deepen.Tokenization;
using static TorchSharp.torch;

namespace Deepen.Checkpoints;

/// <summary>
/// Writes randomly initialised plain Llama model directories in HF layout (config.json, safetensors, tokenizer files), for pretraining from scratch (the
/// embedded default) and for test fixtures: matrices ~ N(0, std²), norm weights 1.
/// </summary>
public static class ModelFactory
{
    /// <summary>The HF config.json of a plain Llama with this shape.</summary>
    public static JsonObject HfConfigJson(ModelConfig c) => new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["model_type"] = "llama",
        ["vocab_size"] = c.VocabSize,
        ["hidden_size"] = c.HiddenSize,
        ["intermediate_size"] = c.IntermediateSize,
        ["num_hidden_layers"] = c.NumLayers,
        ["num_attention_heads"] = c.NumHeads,
        ["num_key_value_heads"] = c.NumKvHeads,
        ["head_dim"] = c.HeadDim,
        ["rms_norm_eps"] = c.RmsNormEps,
        ["rope_theta"] = c.RopeTheta,
        ["max_position_embeddings"] = c.MaxPositionEmbeddings,
        ["tie_word_embeddings"] = c.TieWordEmbeddings,
        ["hidden_act"] = "silu",
        ["bos_token_id"] = c.BosTokenId,
        ["eos_token_id"] = c.EosTokenIds.Count > 0 ? c.EosTokenIds[0] : null,
        ["torch_dtype"] = "float32",
    };

    /// <summary>
    /// Writes a new random model to <paramref name="outDir"/> (atomically) with the tokenizer files of
    /// <paramref name="tokenizerDir"/>; the vocabulary size and BOS/EOS come from that tokenizer.
    /// </summary>
    public static ModelConfig CreatePlain(ModelConfig shape, string tokenizerDir, string outDir, long seed, double std = 0.02, bool force = false)
    {
        ModelConfig config;
        using (var tok = TextTokenizer.FromDirectory(tokenizerDir))
            config = shape with
            {
                ModelType = "llama",
                VocabSize = tok.VocabSize,
                BosTokenId = tok.BosId,
                EosTokenIds = tok.EosId is { } eos ? [eos] : [],
            };
        config = config.Validated("init");
        AtomicDirectory.Write(outDir, force, tmp =>
        {
            using var model = new LlamaModel(config, ScalarType.Float32);
            ModelInit.Normal(model, std, seed);
            HfLayout.Write(tmp, model, HfConfigJson(config));
            RecurrentCheckpoint.CopyCompanions(tokenizerDir, tmp);
        });
        return config;
    }
}
