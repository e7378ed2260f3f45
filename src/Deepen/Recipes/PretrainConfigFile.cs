using Deepen.Data;
using YamlDotNet.RepresentationModel;
using Deepen.Modeling;
using Deepen.Training;

namespace Deepen.Recipes;

/// <summary>
/// Reads a pretraining recipe: a training config (every <see cref="TrainConfig"/> key) plus a
/// <c>pretrain:</c> section with the tokenizer, data-mix, architecture and shipping settings.
/// </summary>
public static class PretrainConfigFile
{
    public static readonly string[] Keys =
    [
        "corpus", "vocab_size", "tokenizer_max_bytes", "math_count", "math_ops", "math_seed", "chain_count", "chain_ops", "chain_seed", "chain_worked_fraction", "hop_count", "hop_hops", "hop_chains", "hop_seed", "hop_worked_fraction", "hop_ask_all_fraction", "tokenizer", "init_from", "holdout",
        "layers", "hidden_size", "heads", "kv_heads", "intermediate_size", "max_positions", "rope_theta", "init_seed", "ship_to",
    ];

    public static PretrainOptions Load(string path, IReadOnlyDictionary<string, string> trainOverrides)
    {
        if (!File.Exists(path)) throw new DeepenException($"{path}: config file not found.");
        var yaml = new YamlStream();
        try { using var reader = new StringReader(File.ReadAllText(path)); yaml.Load(reader); }
        catch (YamlDotNet.Core.YamlException e) { throw new DeepenException($"{path}: not valid YAML ({e.Message}).", e); }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new DeepenException($"{path}: expected a mapping of keys to values.");
        var section = root.Children.FirstOrDefault(kv => kv.Key.ToString() == "pretrain").Value as YamlMappingNode
            ?? throw new DeepenException($"{path}: missing the 'pretrain:' section (corpus, vocab_size, math_count, layers, hidden_size, ... ship_to).");
        var p = new Dictionary<string, YamlNode>();
        foreach (var (k, v) in section.Children)
        {
            var key = k.ToString();
            if (!Keys.Contains(key))
                throw new DeepenException($"unknown key 'pretrain.{key}' in {path}" + (NameSuggestion.Nearest(key, Keys) is { } n ? $"; did you mean '{n}'?" : "."));
            p[key] = v;
        }
        root.Children.Remove(new YamlScalarNode("pretrain"));
        var trainYaml = Path.Combine(Path.GetTempPath(), $"deepen-pretrain-{Environment.ProcessId}-{Guid.NewGuid():N}.yaml");
        try
        {
            using (var w = new StreamWriter(trainYaml)) yaml.Save(w, assignAnchors: false);
            var train = TrainConfigFile.Load(trainYaml, trainOverrides) with { Model = "(made by pretrain)", TrainData = ["(made by pretrain)"] };
            string S(string k, string d) => p.TryGetValue(k, out var v) ? v.ToString() : d;
            int I(string k, int d) => p.TryGetValue(k, out var v) ? ParseInt(path, k, v.ToString()) : d;
            double D(string k, double d) => p.TryGetValue(k, out var v) ? ParseFraction(path, k, v.ToString()) : d;
            var corpus = p.TryGetValue("corpus", out var cn)
                ? (cn is YamlSequenceNode seq ? seq.Children.Select(x => x.ToString()).ToList() : [cn.ToString()])
                : ["../shared/data/corpus"];
            int d = I("hidden_size", 256), heads = I("heads", 8);
            if (heads <= 0 || d % heads != 0) throw new DeepenException($"{path}: pretrain.hidden_size {d} must be a positive multiple of pretrain.heads {heads}.");
            return new PretrainOptions
            {
                Corpus = corpus.Select(Path.GetFullPath).ToList(),
                VocabSize = I("vocab_size", 4096),
                TokenizerMaxBytes = I("tokenizer_max_bytes", 8_000_000),
                MathCount = I("math_count", 12_000),
                MathOps = SyntheticMath.ParseOps(S("math_ops", "1-8")),
                MathSeed = (ulong)I("math_seed", 1),
                ChainCount = I("chain_count", 0),
                ChainOps = ModChain.ParseOps(S("chain_ops", "1-8")),
                ChainSeed = (ulong)I("chain_seed", 3),
                ChainWorkedFraction = D("chain_worked_fraction", 0),
                HopCount = I("hop_count", 0),
                HopHops = CountSpec.Parse(S("hop_hops", "1-4"), VariableHops.Names, "pretrain.hop_hops"),
                HopChains = I("hop_chains", 3),
                HopSeed = (ulong)I("hop_seed", 5),
                HopWorkedFraction = D("hop_worked_fraction", 0),
                HopAskAllFraction = D("hop_ask_all_fraction", 0),
                Tokenizer = p.ContainsKey("tokenizer") ? Path.GetFullPath(S("tokenizer", "")) : null,
                InitFrom = p.ContainsKey("init_from") ? Path.GetFullPath(S("init_from", "")) : null,
                HoldoutFraction = D("holdout", 0.02),
                Shape = new ModelConfig
                {
                    ModelType = "llama", VocabSize = 1, HiddenSize = d, IntermediateSize = I("intermediate_size", 768), NumLayers = I("layers", 8),
                    NumHeads = heads, NumKvHeads = I("kv_heads", 4), HeadDim = d / heads, RmsNormEps = 1e-5,
                    RopeTheta = double.Parse(S("rope_theta", "10000"), System.Globalization.CultureInfo.InvariantCulture), MaxPositionEmbeddings = I("max_positions", 1024),
                },
                InitSeed = I("init_seed", 0),
                ShipTo = Path.GetFullPath(S("ship_to", "models/tiny-base")),
                Train = train,
            };
        }
        finally { File.Delete(trainYaml); }
    }

    private static double ParseFraction(string path, string key, string text) =>
        double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 0 && v <= 1
            ? v : throw new DeepenException($"{path}: pretrain.{key} is '{text}'; expected a fraction in [0, 1].");

    private static int ParseInt(string path, string key, string text) =>
        int.TryParse(text.Replace("_", ""), out var v) ? v : throw new DeepenException($"{path}: pretrain.{key} is '{text}'; expected an integer.");
}
