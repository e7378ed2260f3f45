using System.CommandLine;
using System.Diagnostics;
using Deepen.Modeling;
using Deepen;
using Deepen.Checkpoints;
using Deepen.Conversion;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen convert</c>: a pretrained HF model → a recurrent model, in one verified step.</summary>
public static class ConvertCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Source HF model directory (llama or olmo2).", Required = true };
        var output = new Option<string>("--out") { Description = "Output directory for the recurrent model.", Required = true };
        var shape = new Option<string?>("--shape") { Description = "P,R,C: first P layers → prelude, the R before the last C → core, last C → coda." };
        var layers = new Option<string?>("--layers") { Description = "Explicit plan prelude:core:coda, each a comma list of indices and ranges, e.g. 0-3:10-17:18-21." };
        var stride = new Option<int?>("--core-stride") { Description = "With --shape: pick the R core layers S apart, ending just before the coda." };
        var verify = new Option<bool>("--verify") { Description = "Check equivalence with the pruned source (adapter bypassed, zero state, r = 1); fail above 1e-4." };
        var dtype = new Option<string>("--dtype") { Description = "Stored dtype: float32 or bfloat16.", DefaultValueFactory = _ => "float32" };
        var adapterInit = new Option<string>("--adapter-init") { Description = "default (PyTorch nn.Linear init), identity ([0 | I]: ignore the state) or add ([I | I]: state plus prelude output).", DefaultValueFactory = _ => "default" };
        var seed = new Option<long>("--seed") { Description = "Seed of the adapter init.", DefaultValueFactory = _ => 0 };
        var meanRec = new Option<int>("--mean-recurrence") { Description = "Default recurrence stored in config.json.", DefaultValueFactory = _ => 32 };
        var backprop = new Option<int>("--mean-backprop-depth") { Description = "Backprop depth stored in config.json.", DefaultValueFactory = _ => 8 };
        var device = DeviceFlag.Create();
        var force = new Option<bool>("--force") { Description = "Replace an existing output directory." };
        var cmd = new Command("convert", "Convert a pretrained Llama-family model into a depth-recurrent model.")
            { from, output, shape, layers, stride, verify, device, dtype, adapterInit, seed, meanRec, backprop, force };
        cmd.Handle(parse =>
        {
            var src = parse.GetValue(from)!;
            if (RecurrentCheckpoint.IsRecurrent(src))
                throw new DeepenException($"{src}: this model is already recurrent; convert expects a plain HF Llama or OLMo-2 model.");
            var source = HfConfig.Load(src);
            var plan = ResolvePlan(parse.GetValue(shape), parse.GetValue(layers), parse.GetValue(stride), source.NumLayers);
            Console.WriteLine($"source: {src} ({source.ModelType}, {source.NumLayers} layers)");
            Console.WriteLine($"plan:   prelude {Show(plan.Prelude)} | core {Show(plan.Core)} | coda {Show(plan.Coda)} | dropped {Show(plan.Dropped(source.NumLayers).ToArray())}");
            var options = new ConvertOptions(src, parse.GetValue(output)!, plan)
            {
                DType = HfModel.ParseDType(parse.GetValue(dtype)!),
                AdapterInit = parse.GetValue(adapterInit) switch
                {
                    "default" => AdapterInit.Default,
                    "identity" => AdapterInit.Identity,
                    "add" => AdapterInit.Add,
                    var v => throw new DeepenException($"--adapter-init '{v}': expected default, identity or add."),
                },
                Seed = parse.GetValue(seed),
                Verify = parse.GetValue(verify),
                Device = DeviceFlag.Resolve(parse, device),
                Force = parse.GetValue(force),
                MeanRecurrence = parse.GetValue(meanRec),
                MeanBackpropDepth = parse.GetValue(backprop),
            };
            bool bar = ConsoleProgress.Interactive;
            var result = ConsoleProgress.Run((log, progress) => Retrofitter.Convert(
                bar ? options with { Progress = (done, total) => progress("convert", done, total) } : options, line => log(line)));
            var peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024);
            Console.WriteLine($"wrote {Path.GetFullPath(options.Out)} ({result.Config.PreludeLayers},{result.Config.CoreLayers},{result.Config.CodaLayers}) " +
                              $"in {result.Elapsed.TotalSeconds:F1} s, peak RSS {peakMb:F0} MiB");
            if (result.MaxLogitDiff is { } d) Console.WriteLine($"verified: max |Δlogit| = {d:E3} ≤ {options.Tolerance:E0}");
        });
        return cmd;
    }

    public static LayerPlan ResolvePlan(string? shape, string? layers, int? stride, int sourceLayers)
    {
        if ((shape is null) == (layers is null))
            throw new DeepenException("give exactly one of --shape P,R,C or --layers prelude:core:coda.");
        if (layers is not null)
        {
            if (stride is not null) throw new DeepenException("--core-stride works with --shape, not with --layers.");
            return LayerPlan.Parse(layers, sourceLayers);
        }
        var plan = LayerPlan.ParseShape(shape!, sourceLayers);
        return stride is { } s ? LayerPlan.FromStride(plan.Prelude.Count, plan.Core.Count, plan.Coda.Count, s, sourceLayers) : plan;
    }

    private static string Show(IReadOnlyList<int> layers) => layers.Count == 0 ? "none" : LayerPlan.Format(layers);
}
