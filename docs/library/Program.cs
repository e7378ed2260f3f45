using Deepen.Conversion;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Models;
using Deepen.Tokenization;
using Deepen.Torch;

// Usage: dotnet run -- BASE_MODEL_DIR [cpu|cuda|cuda:N]   (e.g. models/tiny-base-chains of this repository)
var baseModel = args[0];
var device = ComputeDevice.Resolve(args.Length > 1 ? args[1] : null);   // default: cuda when present, else cpu
int layers = HfConfig.Load(baseModel).NumLayers;
var recurrent = Path.Combine(Path.GetTempPath(), $"deepen-example-{Environment.ProcessId}");
var plan = LayerPlan.FromShape(layers / 4, layers / 2, layers / 4, layers);   // prelude, recurrent core, coda
var converted = Retrofitter.Convert(new ConvertOptions(baseModel, recurrent, plan) { Verify = true, Device = device });
Console.WriteLine($"converted to ({plan.Prelude.Count},{plan.Core.Count},{plan.Coda.Count}), max |Δlogit| {converted.MaxLogitDiff:E1}");
using (var model = DeepenModel.Load(recurrent, device: device))
using (var tokenizer = TextTokenizer.FromDirectory(recurrent))
{
    var generator = new Generator(model, tokenizer);
    foreach (var r in new[] { 1, 4 })
    {
        var options = new GenerationOptions { MaxNewTokens = 4, Depth = DepthOptions.Fixed(r) };
        var completion = generator.Generate(["mod 10: 3 +4 ="], options)[0];
        Console.WriteLine($"{ComputeDevice.Name(device)}, r = {r}: {completion.Text.Trim()}");
    }
}
Directory.Delete(recurrent, recursive: true);
