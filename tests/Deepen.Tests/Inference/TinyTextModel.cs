using Deepen.Checkpoints;
using Deepen.Modeling;
using Deepen.Tokenization;
using static TorchSharp.torch;

namespace Deepen.Tests.Inference;

/// <summary>
/// A model directory with text: a random (1,2,1) recurrent model (d = 32) whose vocabulary is that of a small
/// byte-level BPE tokenizer trained here, saved with the tokenizer files. The fixture models have 96-token
/// vocabularies and no tokenizer, so tests that need text use this. Deleted when disposed.
/// </summary>
public sealed class TinyTextModel : IDisposable
{
    private readonly TestPaths.TempDir dir = new();

    /// <param name="chatTemplate">The Jinja chat template written to tokenizer_config.json (null: the trainer's default).</param>
    /// <param name="context">max_position_embeddings.</param>
    /// <param name="extraSpecials">Added tokens appended after the BPE vocabulary (e.g. Llama-3's header tokens).</param>
    public TinyTextModel(string? chatTemplate = null, int context = 128, IReadOnlyList<string>? extraSpecials = null)
    {
        var corpus = Enumerable.Range(0, 40).Select(i =>
            $"Q: what is {i} plus {i + 3}? A: it is {2 * i + 3}. The quick brown fox jumps over the lazy dog number {i}.").ToList();
        var bpe = BpeTrainer.Train(corpus, new BpeTrainerOptions { VocabSize = 320 });
        var options = chatTemplate is null ? new HfTokenizerFileOptions() : new HfTokenizerFileOptions { ChatTemplate = chatTemplate };
        HfTokenizerFiles.Save(bpe, dir.Path, options);
        if (extraSpecials is { Count: > 0 }) AddSpecials(Path.Combine(dir.Path, "tokenizer.json"), extraSpecials);
        using (var tok = TextTokenizer.FromDirectory(dir.Path)) VocabSize = tok.VocabSize;

        var block = new ModelConfig
        {
            ModelType = "llama", VocabSize = VocabSize, HiddenSize = 32, IntermediateSize = 64, NumLayers = 4,
            NumHeads = 2, NumKvHeads = 1, HeadDim = 16, RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = context,
            BosTokenId = 0, EosTokenIds = [1],
        };
        var config = new RecurrentConfig { Block = block, PreludeLayers = 1, CoreLayers = 2, CodaLayers = 1, MeanRecurrence = 4 };
        using var model = new RecurrentModel(config);
        ModelInit.Normal(model, 0.2, seed: 7);
        // Zero the head rows of non-ASCII and control bytes: their logits are then 0 while the best of the others is
        // clearly positive, so greedy text is readable ASCII (no U+FFFD from stray bytes).
        using (no_grad())
            for (int b = 0; b < 256; b++)
                if (b >= 0x80 || (b < 0x20 && b != '\n'))
                    model.lm_head.weight[bpe.Tokens.ToList().IndexOf(ByteLevel.ByteToChar[b].ToString())].zero_();
        var modelDir = Path.Combine(dir.Path, "model");
        RecurrentCheckpoint.Save(model, modelDir, ScalarType.Float32, companionSourceDir: dir.Path);
        Dir = modelDir;
    }

    /// <summary>The model directory (config, weights, tokenizer files).</summary>
    public string Dir { get; }

    /// <summary>Tokens in the tokenizer (= the model's vocabulary).</summary>
    public int VocabSize { get; }

    private static void AddSpecials(string path, IReadOnlyList<string> tokens)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        var added = json["added_tokens"]!.AsArray();
        int next = json["model"]!["vocab"]!.AsObject().Count;
        foreach (var t in tokens)
            added.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["id"] = next++, ["content"] = t, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            });
        File.WriteAllText(path, json.ToJsonString());
    }

    public void Dispose() => dir.Dispose();
}
