using System.Text.RegularExpressions;

namespace Deepen.Tests.Modeling;

/// <summary>
/// Every tensor the model, training, inference and evaluation code creates names its device (the model's, an input's, or
/// an explicit one), or says on its line (<c>// host: why</c>) that it lives on the host on purpose. On a CPU-only machine a
/// tensor made on the wrong device cannot be seen at run time (everything is on the CPU, and the meta device lacks kernels
/// for index_select and where, so a model cannot run there), so the rule is checked where the tensors are made.
/// Data/, Conversion/ and Checkpoints/ make host tensors by design: batches are moved by the trainer, conversion copies on
/// the host, checkpoints are read on the host and copied onto the parameters' device. Every other folder is checked.
/// </summary>
public class TensorDeviceTests
{
    private static readonly Regex Factory = new(@"(?<![\w.])(tensor|zeros|ones|empty|full|arange|rand|randn|randint|linspace|eye)\(", RegexOptions.Compiled);

    /// <summary>"file:line: call" for each factory call in <paramref name="source"/> that names no device and is not marked host.</summary>
    public static IEnumerable<string> Unplaced(string file, string source)
    {
        var lines = source.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var code = line.TrimStart();
            if (code.StartsWith("//", StringComparison.Ordinal)) continue;
            bool host = line.Contains("// host:", StringComparison.Ordinal) || (i > 0 && lines[i - 1].TrimStart().StartsWith("// host:", StringComparison.Ordinal));
            foreach (Match m in Factory.Matches(line))
            {
                var args = Arguments(line, m.Index + m.Length);
                if (!host && !args.Contains("device", StringComparison.OrdinalIgnoreCase))
                    yield return $"{file}:{i + 1}: {m.Value}{args})";
            }
        }
    }

    /// <summary>The text between the call's parentheses (to the end of the line when they do not close on it).</summary>
    private static string Arguments(string line, int start)
    {
        int depth = 1, i = start;
        for (; i < line.Length && depth > 0; i++) depth += line[i] == '(' ? 1 : line[i] == ')' ? -1 : 0;
        return line[start..(depth == 0 ? i - 1 : i)];
    }

    [Fact]
    public void EveryTensorTheModelTrainingAndInferenceMakeNamesItsDevice()
    {
        var root = Path.Combine(TestPaths.RepoRoot, "src", "Deepen");
        // Every folder of the library but those that work on the host by design (and build outputs), so a new folder is checked too.
        string[] host = ["Data", "Conversion", "Checkpoints", "Tokenization", "bin", "obj", "build"];
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).Where(d => !host.Contains(d)).ToList();
        Assert.Contains("Models", folders);   // the model interface and its KV cache
        var found = folders
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d!), "*.cs", SearchOption.AllDirectories))
            .SelectMany(f => Unplaced(Path.GetRelativePath(root, f), File.ReadAllText(f)))
            .ToList();
        Assert.True(found.Count == 0, "tensors made without a device:\n" + string.Join("\n", found));
    }

    [Theory]
    [InlineData("var x = zeros(3, 4);", true)]
    [InlineData("var ids = tensor(flat, [n, t], ScalarType.Int64);", true)]
    [InlineData("var m = torch.ones(2) + arange(5, device: d);", false)]   // torch.ones is qualified: not this rule's shape
    [InlineData("var k = arange(keys, device: device).view(1, 1, keys);", false)]
    [InlineData("var ids = tensor(flat, [n, t], ScalarType.Int64, model.Device);", false)]
    [InlineData("var s = rand(shape, generator: g);   // host: a CPU generator", false)]
    [InlineData("// zeros(3) in a comment", false)]
    public void TheRuleFlagsATensorMadeWithoutADevice(string line, bool flagged) =>
        Assert.Equal(flagged, Unplaced("x.cs", line).Any());

    [Fact]
    public void TheRuleCatchesAnInjectedHostTensorInTheModelsOwnCode()
    {
        var file = Path.Combine(TestPaths.RepoRoot, "src", "Deepen", "Modeling", "RecurrentModel.cs");
        var source = File.ReadAllText(file);
        Assert.Empty(Unplaced("RecurrentModel.cs", source));
        var injected = source.Replace("arange(ids.shape[1], device: ids.device)", "arange(ids.shape[1])");
        Assert.NotEqual(source, injected);
        Assert.Single(Unplaced("RecurrentModel.cs", injected));
    }

    [Fact]
    public void NoiseDrawnOffTheHostIsReproducibleFromTheSeedAndAdvancesTheHostGenerator()
    {
        // the path a CUDA model's initial state takes, run with the CPU as "the device"
        using TorchSharp.torch.Generator a = new(5), b = new(5);
        using var first = Deepen.Torch.TruncatedNormal.UniformFromSeededDevice([3, 4], TorchSharp.torch.CPU, a);
        using var again = Deepen.Torch.TruncatedNormal.UniformFromSeededDevice([3, 4], TorchSharp.torch.CPU, b);
        Assert.Equal(first.data<float>().ToArray(), again.data<float>().ToArray());
        using var next = Deepen.Torch.TruncatedNormal.UniformFromSeededDevice([3, 4], TorchSharp.torch.CPU, a);
        Assert.NotEqual(first.data<float>().ToArray(), next.data<float>().ToArray());   // the host generator moved on
        Assert.All(first.data<float>().ToArray(), v => Assert.InRange(v, 0f, 1f));
    }
}
