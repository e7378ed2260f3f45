using System.CommandLine;
using Deepen.Tokenization;
using Deepen;
using Deepen.Checkpoints;
using Deepen.Modeling;
using Deepen.Models;
using static TorchSharp.torch;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen logits</c>: the logits of every position of one sequence, as an F32 safetensors tensor.</summary>
public static class LogitsCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (HF or recurrent).", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Comma-separated token ids, e.g. 1,2,3." };
        var text = new Option<string?>("--text") { Description = "Text to tokenize with the model's tokenizer." };
        var dtype = new Option<string>("--dtype") { Description = "float32 or bfloat16.", DefaultValueFactory = _ => "float32" };
        var outFile = new Option<string>("--out") { Description = "Output .safetensors file (tensor 'logits' [T, V], F32).", Required = true };
        var recurrence = new Option<int?>("--recurrence") { Description = "Recurrent models: iterations (default: config mean_recurrence)." };
        var state = new Option<string>("--state") { Description = "Recurrent models: initial state, zeros or random.", DefaultValueFactory = _ => "random" };
        var device = DeviceFlag.Create();
        var seed = new Option<long?>("--seed") { Description = "Recurrent models: seed of the random initial state." };
        var cmd = new Command("logits", "Compute the logits of every position and write them as safetensors.")
            { model, ids, text, dtype, device, outFile, recurrence, state, seed };
        cmd.Handle(parse =>
        {
            var dir = parse.GetValue(model)!;
            var tokenIds = TokenIds(dir, parse.GetValue(ids), parse.GetValue(text));
            var scalar = HfModel.ParseDType(parse.GetValue(dtype)!);
            var on = DeviceFlag.Resolve(parse, device);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var input = tensor(tokenIds, dtype: ScalarType.Int64, device: on).unsqueeze(0);      // (1, T)
            var init = parse.GetValue(state) switch
            {
                "zeros" => StateInit.Zeros,
                "random" => StateInit.Random,
                var v => throw new DeepenException($"--state '{v}': expected zeros or random."),
            };
            using var m = DeepenModel.Load(dir, scalar, on);
            CheckIds(tokenIds, m.VocabSize);
            var depth = new DepthOptions { Recurrence = parse.GetValue(recurrence), InitialState = init };
            m.CheckDepth(depth);
            using var gen = parse.GetValue(seed) is { } s ? new Generator((ulong)s) : null;
            var logits = m.Forward(input, depth, gen)[0];                              // (T, V)
            if (m.DescribeForward(depth) is { Length: > 0 } described) Console.WriteLine($"{m.Kind} model: {described}");
            DeviceFlag.Announce(parse, device, on);
            logits = logits.to_type(ScalarType.Float32);
            var path = parse.GetValue(outFile)!;
            SafetensorsWriter.Write(path, [new("logits", logits), new("input_ids", input[0])]);
            Console.WriteLine($"wrote {path}: logits [{logits.shape[0]}, {logits.shape[1]}] float32");
        });
        return cmd;
    }

    private static long[] TokenIds(string dir, string? ids, string? text)
    {
        if ((ids is null) == (text is null)) throw new DeepenException("give exactly one of --ids or --text.");
        if (ids is not null) return ParseIds(ids);
        using var tok = TextTokenizer.FromDirectory(dir);
        var encoded = tok.Encode(text!);
        if (encoded.Length == 0) throw new DeepenException("--text encodes to no tokens.");
        return encoded.Select(i => (long)i).ToArray();
    }

    private static void CheckIds(long[] ids, int vocab)
    {
        foreach (var i in ids)
            if (i < 0 || i >= vocab) throw new DeepenException($"--ids: id {i} is outside this model's vocabulary [0, {vocab}).");
    }

    public static long[] ParseIds(string text)
    {
        try
        {
            var ids = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
            if (ids.Length == 0) throw new FormatException();
            return ids;
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new DeepenException($"--ids '{text}' is not a comma-separated list of integers such as 1,2,3.");
        }
    }
}
