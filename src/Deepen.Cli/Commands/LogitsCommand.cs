using System.CommandLine;
using Deepen;
using Deepen.Checkpoints;
using static TorchSharp.torch;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen logits</c>: the logits of every position of one sequence, as an F32 safetensors tensor.</summary>
public static class LogitsCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (HF or recurrent).", Required = true };
        var ids = new Option<string?>("--ids") { Description = "Comma-separated token ids, e.g. 1,2,3." };
        var dtype = new Option<string>("--dtype") { Description = "float32 or bfloat16.", DefaultValueFactory = _ => "float32" };
        var outFile = new Option<string>("--out") { Description = "Output .safetensors file (tensor 'logits' [T, V], F32).", Required = true };
        var cmd = new Command("logits", "Compute the logits of every position and write them as safetensors.") { model, ids, dtype, outFile };
        cmd.SetAction(parse =>
        {
            var tokenIds = ParseIds(parse.GetValue(ids) ?? throw new DeepenException("give --ids."));
            var scalar = HfModel.ParseDType(parse.GetValue(dtype)!);
            using var m = HfModel.Load(parse.GetValue(model)!, scalar);
            if (tokenIds.Any(i => i < 0 || i >= m.Config.VocabSize))
                throw new DeepenException($"--ids: every id must be in [0, {m.Config.VocabSize}) for this model's vocabulary.");
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var input = tensor(tokenIds, dtype: ScalarType.Int64).unsqueeze(0);      // (1, T)
            var logits = m.forward(input)[0].to_type(ScalarType.Float32);            // (T, V)
            var path = parse.GetValue(outFile)!;
            SafetensorsWriter.Write(path, [new("logits", logits), new("input_ids", input[0])]);
            Console.WriteLine($"wrote {path}: logits [{logits.shape[0]}, {logits.shape[1]}] float32");
        });
        return cmd;
    }

    public static long[] ParseIds(string text)
    {
        try
        {
            var ids = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
            if (ids.Length == 0) throw new FormatException();
            return ids;
        }
        catch (FormatException)
        {
            throw new DeepenException($"--ids '{text}' is not a comma-separated list of integers such as 1,2,3.");
        }
    }
}
