using Deepen.Checkpoints;
using System.CommandLine;
using Deepen.Modeling;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen init</c>: a randomly initialised plain Llama model (HF layout) for pretraining from scratch.</summary>
public static class InitCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "Directory with tokenizer.json (and tokenizer_config.json); sets the vocabulary.", Required = true };
        var output = new Option<string>("--out") { Description = "Output model directory.", Required = true };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 8 };
        var hidden = new Option<int>("--hidden-size") { DefaultValueFactory = _ => 256 };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 8 };
        var kvHeads = new Option<int>("--kv-heads") { DefaultValueFactory = _ => 4 };
        var ffn = new Option<int>("--intermediate-size") { DefaultValueFactory = _ => 768 };
        var positions = new Option<int>("--max-positions") { DefaultValueFactory = _ => 1024 };
        var theta = new Option<double>("--rope-theta") { DefaultValueFactory = _ => 10000.0 };
        var std = new Option<double>("--init-std") { DefaultValueFactory = _ => 0.02 };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var force = new Option<bool>("--force") { Description = "Replace an existing output directory." };
        var cmd = new Command("init", "Create a randomly initialised Llama model with a given shape and tokenizer.")
            { tokenizer, output, layers, hidden, heads, kvHeads, ffn, positions, theta, std, seed, force };
        cmd.Handle(parse =>
        {
            int d = parse.GetValue(hidden), h = parse.GetValue(heads);
            if (h <= 0 || d % h != 0) throw new DeepenException($"--hidden-size {d} must be a positive multiple of --heads {h}.");
            var shape = new ModelConfig
            {
                ModelType = "llama", VocabSize = 1, HiddenSize = d, IntermediateSize = parse.GetValue(ffn), NumLayers = parse.GetValue(layers),
                NumHeads = h, NumKvHeads = parse.GetValue(kvHeads), HeadDim = d / h, RmsNormEps = 1e-5, RopeTheta = parse.GetValue(theta),
                MaxPositionEmbeddings = parse.GetValue(positions),
            };
            var c = ModelFactory.CreatePlain(shape, parse.GetValue(tokenizer)!, parse.GetValue(output)!, parse.GetValue(seed), parse.GetValue(std), parse.GetValue(force));
            long n = (long)c.NumLayers * c.ParamsPerLayer + 2L * c.VocabSize * c.HiddenSize + c.HiddenSize;
            Console.WriteLine($"wrote {parse.GetValue(output)}: llama, {c.NumLayers} layers, d {c.HiddenSize}, heads {c.NumHeads}/{c.NumKvHeads}, FFN {c.IntermediateSize}, vocab {c.VocabSize}, {n:N0} parameters");
        });
        return cmd;
    }
}
