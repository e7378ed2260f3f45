using System.Text.Json.Nodes;

namespace Deepen.Modeling;

/// <summary>Source layer index of every prelude, core and coda layer (recorded by <c>convert</c>).</summary>
public sealed record LayerPlanRecord(IReadOnlyList<int> Prelude, IReadOnlyList<int> Core, IReadOnlyList<int> Coda);

/// <summary>
/// The config of a recurrent model in the released Raven format (<c>model_type: "huginn_raven"</c>,
/// method.md §10): the block shape, the stage sizes (P, R, C), the default recurrence and backprop depth,
/// and the initial-state settings.
/// </summary>
public sealed record RecurrentConfig
{
    public const string ModelType = "huginn_raven";
    /// <summary>Huginn's state std, sqrt(2/(5·5280)), inherited unchanged by the retrofit (method.md §2.4).</summary>
    public const double HuginnStateStd = 0.008703882797784892;

    /// <summary>The per-layer shape; <see cref="ModelConfig.NumLayers"/> = P + R + C.</summary>
    public required ModelConfig Block { get; init; }
    public required int PreludeLayers { get; init; }
    public required int CoreLayers { get; init; }
    public required int CodaLayers { get; init; }
    public int MeanRecurrence { get; init; } = 32;
    public int MeanBackpropDepth { get; init; } = 8;
    public double InitStd { get; init; } = HuginnStateStd;
    public double InitScale { get; init; } = 1.0;
    public double EmbedScale { get; init; } = 1.0;
    public LayerPlanRecord? LayerPlan { get; init; }
    public string? SourceModelType { get; init; }

    public static RecurrentConfig Parse(JsonObject j, string path, BlockStyle style)
    {
        var type = HfConfig.ModelTypeOf(j);
        if (type != ModelType)
            throw new DeepenException($"{path}: model_type '{type}' is not a recurrent model; expected '{ModelType}'.");
        var r = new JsonReader(j, path);
        int p = r.Int("n_layers_in_prelude"), core = r.Int("n_layers_in_recurrent_block"), c = r.Int("n_layers_in_coda");
        int d = r.Int("n_embd"), heads = r.Int("n_heads");
        var init = j["init_values"] as JsonObject;
        if (j["rope_theta"] is null)
            throw new DeepenException($"{path}: missing required key 'rope_theta' (the authors' code needs it and never reads 'rope_base').");
        if (r.BoolOr("tie_embeddings", true))
            throw new DeepenException($"{path}: 'tie_embeddings' is {(j["tie_embeddings"] is null ? "missing (the authors' default is true)" : "true")}; "
                + "Deepen's recurrent models keep an untied lm_head (the retrofit unties it): set \"tie_embeddings\": false and store lm_head.weight.");
        var block = new ModelConfig
        {
            ModelType = j["deepen"]?["source_model_type"]?.GetValue<string>() ?? (style == BlockStyle.PostNormQkNorm ? "olmo2" : "llama"),
            VocabSize = r.IntOr("padded_vocab_size", r.Int("vocab_size")),
            HiddenSize = d,
            IntermediateSize = r.Int("intermediate_size"),
            NumLayers = p + core + c,
            NumHeads = heads,
            NumKvHeads = r.IntOr("num_key_value_heads", heads),
            HeadDim = r.IntOr("head_dim", d / heads),
            RmsNormEps = r.DoubleOr("norm_eps", AuthorsNormEps),
            RopeTheta = r.Double("rope_theta"),
            RopeScaling = HfConfig.ParseRopeScaling(j["rope_scaling"], path),
            TieWordEmbeddings = false,   // the retrofit unties; tie_word_embeddings in the authors' files is tolerated and ignored
            MaxPositionEmbeddings = r.IntOr("max_position_embeddings", r.IntOr("block_size", 4096)),
            BosTokenId = r.IntOrNull("bos_token_id"),
            EosTokenIds = r.IntList("eos_token_id"),
            TorchDtype = r.StringOrNull("torch_dtype"),
            Style = style,
        }.Validated(path);
        if (core <= 0) throw new DeepenException($"{path}: 'n_layers_in_recurrent_block' must be positive, got {core}.");
        return new RecurrentConfig
        {
            Block = block,
            PreludeLayers = p,
            CoreLayers = core,
            CodaLayers = c,
            MeanRecurrence = r.IntOr("mean_recurrence", 32),
            MeanBackpropDepth = r.IntOr("mean_backprop_depth", 8),
            InitStd = init is null ? AuthorsStateStd(d) : InitValue(init, "std", path),
            InitScale = r.DoubleOr("init_scale", 1.0),
            EmbedScale = init is null ? Math.Sqrt(d) : InitValue(init, "embed_scale", path),
            LayerPlan = ParsePlan(j["deepen"]?["layer_plan"]),
            SourceModelType = j["deepen"]?["source_model_type"]?.GetValue<string>(),
        };
    }

    /// <summary>The authors' config class's <c>norm_eps</c> when the key is absent.</summary>
    public const double AuthorsNormEps = 1e-6;

    /// <summary>The authors' config class's state std when <c>init_values</c> is absent: √(2 / (5d)).</summary>
    public static double AuthorsStateStd(int d) => Math.Sqrt(2.0 / (5.0 * d));

    private static double InitValue(JsonObject init, string key, string path) =>
        new JsonReader(init, path + " init_values").Double(key);

    private static LayerPlanRecord? ParsePlan(JsonNode? n)
    {
        if (n is not JsonObject o) return null;
        int[] Get(string k) => (o[k] as JsonArray)?.Select(x => x!.GetValue<int>()).ToArray() ?? [];
        return new LayerPlanRecord(Get("prelude"), Get("core_block"), Get("coda"));
    }

    /// <summary>The config.json the released checkpoints carry (method.md §10), plus a <c>deepen</c> block with the layer plan.</summary>
    public JsonObject ToJson(string torchDtype)
    {
        var b = Block;
        var j = new JsonObject
        {
            ["architectures"] = new JsonArray("RavenForCausalLM"),
            ["auto_map"] = new JsonObject
            {
                ["AutoConfig"] = "raven_config_minimal.RavenConfig",
                ["AutoModelForCausalLM"] = "raven_modeling_minimal.RavenForCausalLM",
            },
            ["model_type"] = ModelType,
            ["n_embd"] = b.HiddenSize,
            ["n_heads"] = b.NumHeads,
            ["num_key_value_heads"] = b.NumKvHeads,
            ["head_dim"] = b.HeadDim,
            ["intermediate_size"] = b.IntermediateSize,
            ["n_layers"] = b.NumLayers,
            ["n_layers_in_prelude"] = PreludeLayers,
            ["n_layers_in_recurrent_block"] = CoreLayers,
            ["n_layers_in_coda"] = CodaLayers,
            ["vocab_size"] = b.VocabSize,
            ["padded_vocab_size"] = b.VocabSize,
            ["norm_eps"] = b.RmsNormEps,
            ["rope_theta"] = b.RopeTheta,
            ["max_position_embeddings"] = b.MaxPositionEmbeddings,
            ["tie_embeddings"] = false,
            ["bias"] = false,
            ["qk_bias"] = false,
            ["mean_recurrence"] = MeanRecurrence,
            ["mean_backprop_depth"] = MeanBackpropDepth,
            ["init_values"] = new JsonObject
            {
                ["std"] = InitStd,
                ["embed_scale"] = EmbedScale,
                ["out_proj"] = 0.0005356869554443541,   // inert Huginn leftover
                ["embedding"] = HuginnStateStd,          // inert Huginn leftover
            },
            ["test_time_noise"] = 0,
            ["test_time_noise_type"] = "fixed",
            // Inert Huginn leftovers kept so the authors' modeling code accepts the file.
            ["block_size"] = 4096,
            ["rope_base"] = b.RopeTheta,
            ["sampling_scheme"] = "poisson-lognormal-filling",
            ["injection_type"] = "linear",
            ["state_init"] = "like-init",
            ["block_class_name"] = "SandwichBlock",
            ["norm_class_name"] = "RMSNorm_llama",
            ["init_strategy"] = "takase",
            ["effective_expected_depth"] = PreludeLayers + MeanRecurrence * CoreLayers + CodaLayers,
            ["padding_multiple"] = 4096,
            ["torch_dtype"] = torchDtype,
        };
        if (b.RopeScaling is { } s)
            j["rope_scaling"] = new JsonObject
            {
                ["rope_type"] = s.RopeType,
                ["factor"] = s.Factor,
                ["low_freq_factor"] = s.LowFreqFactor,
                ["high_freq_factor"] = s.HighFreqFactor,
                ["original_max_position_embeddings"] = s.OriginalMaxPositionEmbeddings,
            };
        if (b.BosTokenId is { } bos) j["bos_token_id"] = bos;
        if (b.EosTokenIds.Count == 1) j["eos_token_id"] = b.EosTokenIds[0];
        else if (b.EosTokenIds.Count > 1) j["eos_token_id"] = new JsonArray(b.EosTokenIds.Select(e => (JsonNode)e).ToArray());
        var deepen = new JsonObject { ["source_model_type"] = SourceModelType ?? b.ModelType };
        if (LayerPlan is { } plan)
            deepen["layer_plan"] = new JsonObject
            {
                ["prelude"] = new JsonArray(plan.Prelude.Select(i => (JsonNode)i).ToArray()),
                ["core_block"] = new JsonArray(plan.Core.Select(i => (JsonNode)i).ToArray()),
                ["coda"] = new JsonArray(plan.Coda.Select(i => (JsonNode)i).ToArray()),
            };
        j["deepen"] = deepen;
        return j;
    }
}
