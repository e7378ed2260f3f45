using System.CommandLine;
using Deepen.Checkpoints;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen inspect</c>: architecture, parameter counts per part, dtype and key config values.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory.", Required = true };
        var cmd = new Command("inspect", "Print a model's architecture, parameter counts, dtype and tokenizer.") { model };
        cmd.SetAction(parse =>
        {
            var dir = parse.GetValue(model)!;
            var s = ModelSummary.ForHf(dir);
            var c = s.Config;
            var rows = new List<(string, string)>
            {
                ("model", dir),
                ("model_type", $"{c.ModelType} ({(c.Style == BlockStyle.PreNorm ? "pre-norm" : "post-norm + QK-norm")})"),
                ("layers", c.NumLayers.ToString()),
                ("hidden size d", c.HiddenSize.ToString()),
                ("heads / kv heads / head_dim", $"{c.NumHeads} / {c.NumKvHeads} / {c.HeadDim}"),
                ("intermediate size", c.IntermediateSize.ToString()),
                ("vocab", c.VocabSize.ToString()),
                ("rope", $"theta {c.RopeTheta:G}" + (c.RopeScaling is { } r ? $", {r.RopeType} factor {r.Factor:G} (low {r.LowFreqFactor:G}, high {r.HighFreqFactor:G}, orig {r.OriginalMaxPositionEmbeddings})" : "")),
                ("rms_norm_eps", c.RmsNormEps.ToString("G")),
                ("tied embeddings", c.TieWordEmbeddings ? "yes" : "no"),
                ("max positions", c.MaxPositionEmbeddings.ToString()),
                ("stored dtype", $"{s.StoredDType} in {s.Files} file(s)"),
            };
            foreach (var p in s.Parts) rows.Add(($"params: {p.Part}", $"{p.Parameters:N0} ({p.Tensors} tensors)"));
            rows.Add(("params: total", $"{s.TotalParameters:N0}"));
            Table.Print(rows);
        });
        return cmd;
    }
}
