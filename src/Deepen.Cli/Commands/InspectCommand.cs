using System.CommandLine;
using Deepen.Checkpoints;
using Deepen.Conversion;
using Deepen.Modeling;
using Deepen.Tokenization;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen inspect</c>: architecture, parameter counts per part, dtype, tokenizer and key config values.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (HF or recurrent).", Required = true };
        var cmd = new Command("inspect", "Print a model's architecture, parameter counts, dtype and tokenizer.") { model };
        cmd.Handle(parse =>
        {
            var dir = parse.GetValue(model)!;
            var s = ModelSummary.For(dir);
            var c = s.Config;
            var rows = new List<(string, string)>
            {
                ("model", dir),
                ("architecture", s.Recurrent is null ? $"{c.ModelType} (plain causal LM)" : $"recurrent ({RecurrentConfig.ModelType}) from {c.ModelType}"),
                ("block", c.Style == BlockStyle.PreNorm ? "pre-norm (Llama)" : "post-norm + QK-norm (OLMo-2)"),
            };
            if (s.Recurrent is { } r)
            {
                rows.Add(("shape (P,R,C)", $"({r.PreludeLayers},{r.CoreLayers},{r.CodaLayers})"));
                if (r.LayerPlan is { } plan)
                    rows.Add(("source layers", $"prelude {LayerPlan.Format(plan.Prelude)} | core {LayerPlan.Format(plan.Core)} | coda {LayerPlan.Format(plan.Coda)}"));
                rows.Add(("mean recurrence / backprop depth", $"{r.MeanRecurrence} / {r.MeanBackpropDepth}"));
                rows.Add(("initial state", $"truncated normal σ = {r.InitStd * r.InitScale:G6} (±3σ), embed scale {r.EmbedScale:G}"));
            }
            else rows.Add(("layers", c.NumLayers.ToString()));
            rows.AddRange(
            [
                ("hidden size d", c.HiddenSize.ToString()),
                ("heads / kv heads / head_dim", $"{c.NumHeads} / {c.NumKvHeads} / {c.HeadDim}"),
                ("intermediate size", c.IntermediateSize.ToString()),
                ("vocab", c.VocabSize.ToString()),
                ("rope", $"theta {c.RopeTheta:G}" + (c.RopeScaling is { } rs ? $", {rs.RopeType} factor {rs.Factor:G} (low {rs.LowFreqFactor:G}, high {rs.HighFreqFactor:G}, orig {rs.OriginalMaxPositionEmbeddings})" : "")),
                ("rms norm eps", c.RmsNormEps.ToString("G")),
                ("tied embeddings", c.TieWordEmbeddings ? "yes" : "no"),
                ("max positions", c.MaxPositionEmbeddings.ToString()),
                ("stored dtype", $"{s.StoredDType} in {s.Files} file(s)"),
            ]);
            foreach (var p in s.Parts) rows.Add(($"params: {p.Part}", $"{p.Parameters:N0} ({p.Tensors} tensors)"));
            rows.Add(("params: total", $"{s.TotalParameters:N0}"));
            rows.Add(("tokenizer", DescribeTokenizer(dir)));
            int w = rows.Max(r => r.Item1.Length);   // two aligned plain-text columns, also readable when piped
            foreach (var (k, v) in rows) Console.WriteLine($"{k.PadRight(w)}  {v}");
        });
        return cmd;
    }

    private static string DescribeTokenizer(string dir)
    {
        if (!TextTokenizer.ExistsIn(dir)) return "none";
        using var t = TextTokenizer.FromDirectory(dir);
        return $"{t.Kind}, vocab {t.VocabSize}, BOS {t.BosToken ?? "-"} ({t.BosId?.ToString() ?? "-"}), EOS {t.EosToken ?? "-"} ({t.EosId?.ToString() ?? "-"})" +
               (t.ChatTemplate is null ? "" : ", chat template");
    }
}
