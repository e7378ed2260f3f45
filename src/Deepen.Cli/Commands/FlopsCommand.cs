using System.CommandLine;
using Deepen;
using Deepen.Checkpoints;
using Deepen.Training;
using Deepen.Models;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen flops</c>: per-token training and inference FLOPs and effective parameters (method.md §2.6, §5.3).</summary>
public static class FlopsCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (recurrent or plain).", Required = true };
        var recurrence = new Option<int[]>("--recurrence") { Description = "Total recurrence(s) r, e.g. --recurrence 1 4 32.", AllowMultipleArgumentsPerToken = true };
        var depth = new Option<int>("--backprop-depth") { Description = "Iterations with gradient (truncated backprop).", DefaultValueFactory = _ => 8 };
        var seqLen = new Option<int?>("--seq-len") { Description = "Also show attention-score FLOPs at this context length (not in the paper's numbers)." };
        var cmd = new Command("flops", "Per-token training and inference FLOPs and effective parameters by the paper's formulas.") { model, recurrence, depth, seqLen };
        cmd.Handle(parse =>
        {
            var s = ModelSummary.For(parse.GetValue(model)!);
            int gradDepth = CliRunner.Positive(parse.GetValue(depth), "--backprop-depth");
            var rs = parse.GetValue(recurrence) is { Length: > 0 } given ? given : [s.Recurrent?.MeanRecurrence ?? 1];
            if (rs.Any(r => r < 1)) throw new DeepenException("--recurrence: every value must be a positive integer.");
            var c = s.Config;
            long attnDim = (long)c.NumHeads * c.HeadDim;
            FlopCounter counter;
            if (s.Recurrent is { } rc)
                counter = new FlopCounter(s.PartParameters("prelude"), s.PartParameters("core_block"), s.PartParameters("coda"), gradDepth,
                    new AttentionShape(rc.PreludeLayers, rc.CoreLayers, rc.CodaLayers, attnDim));
            else
            {
                foreach (var r in rs.Where(r => r != 1))
                    throw new DeepenException($"--recurrence {r}: {parse.GetValue(model)} is a plain model (fixed depth); use 1.");
                counter = new FlopCounter(s.TotalParameters - s.PartParameters("embedding") - s.PartParameters("lm_head"), 0, 0, gradDepth,
                    new AttentionShape(c.NumLayers, 0, 0, attnDim));
            }
            Console.WriteLine(s.Recurrent is { } r0
                ? $"recurrent ({r0.PreludeLayers},{r0.CoreLayers},{r0.CodaLayers}): N_prelude {counter.PreludeParams:N0}, N_core {counter.CoreParams:N0}, N_coda {counter.CodaParams:N0} (embeddings, head, adapter and ln_f excluded); backprop depth {gradDepth}"
                : $"plain model: N_nonemb {counter.PreludeParams:N0} (training 6·N, inference 2·N per token)");
            int? t = parse.GetValue(seqLen);
            Console.WriteLine($"{"r",5} {"effective params",18} {"train FLOPs/token",18} {"infer FLOPs/token",18}" + (t is null ? "" : $" {"+attn train (T=" + t + ")",22}"));
            foreach (var r in rs)
            {
                var line = $"{r,5} {counter.EffectiveParams(r),18:E4} {counter.TrainingFlopsPerToken(r),18:E4} {counter.InferenceFlopsPerToken(r),18:E4}";
                if (t is { } T) line += $" {counter.AttentionTrainingFlopsPerToken(r, T),22:E4}";
                Console.WriteLine(line);
            }
        });
        return cmd;
    }
}
