using System.Text.Json.Nodes;
using Deepen.Checkpoints;
using static TorchSharp.torch;

namespace Deepen.Tests.Cli;

/// <summary>
/// Bad input gives one clear error naming the file and the key, a non-zero exit code, and no stack
/// trace unless --verbose.
/// </summary>
public class CliErrorTests
{
    private static string CopyFixture(TestPaths.TempDir tmp, string name)
    {
        var dst = tmp[name];
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.GetFiles(TestPaths.FixtureModel(name)))
            File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
        return dst;
    }

    private static void AssertCleanError(CliProcess.Result r, params string[] mustContain)
    {
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("error: ", r.Stderr);
        foreach (var s in mustContain) Assert.Contains(s, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);   // no stack trace
    }

    [Fact]
    public void MissingConfigNamesTheFile()
    {
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        File.Delete(Path.Combine(dir, "config.json"));
        AssertCleanError(CliProcess.Run("inspect", "--model", dir), Path.Combine(dir, "config.json"));
    }

    [Fact]
    public void UnknownModelTypeNamesTheValue()
    {
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        var cfg = Path.Combine(dir, "config.json");
        var j = JsonNode.Parse(File.ReadAllText(cfg))!.AsObject();
        j["model_type"] = "gpt2";
        File.WriteAllText(cfg, j.ToJsonString());
        AssertCleanError(CliProcess.Run("logits", "--model", dir, "--ids", "1,2", "--out", tmp["l.safetensors"]), "model_type 'gpt2'", cfg);
        Assert.False(File.Exists(tmp["l.safetensors"]));
    }

    [Fact]
    public void TruncatedSafetensorsNamesTheFile()
    {
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        var st = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(st);
        File.WriteAllBytes(st, bytes[..(bytes.Length / 2)]);
        AssertCleanError(CliProcess.Run("inspect", "--model", dir), st, "truncated");
    }

    [Fact]
    public void NonJsonHeaderNamesTheFile()
    {
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        var st = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(st);
        bytes[8] = (byte)'#';   // the header's opening brace
        File.WriteAllBytes(st, bytes);
        AssertCleanError(CliProcess.Run("inspect", "--model", dir), st, "not valid JSON");
    }

    [Fact]
    public void ShapeDisagreeingWithConfigNamesTheKey()
    {
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        var st = Path.Combine(dir, "model.safetensors");
        RewriteTensors(st, d => d["model.layers.2.mlp.up_proj.weight"] = zeros(100, 64));
        var r = CliProcess.Run("logits", "--model", dir, "--ids", "1,2", "--out", tmp["l.safetensors"]);
        AssertCleanError(r, st, "model.layers.2.mlp.up_proj.weight", "[100, 64]", "[128, 64]");
    }

    [Fact]
    public void MissingTensorNamesTheKey()
    {
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        RewriteTensors(Path.Combine(dir, "model.safetensors"), d => d.Remove("model.layers.1.self_attn.k_proj.weight"));
        AssertCleanError(CliProcess.Run("inspect", "--model", dir), "model.layers.1.self_attn.k_proj.weight", "missing");
    }

    [Fact]
    public void DemoShapeBeyondTheBaseNamesTheFlagAndTheLayerCount()
    {
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        int layers = Deepen.Modeling.HfConfig.Load(dir).NumLayers;
        AssertCleanError(CliProcess.Run("demo", "--base", dir, "--shape", $"1,{layers},1", "--out", tmp["demo"]),
            $"--shape 1,{layers},1 needs {layers + 2} layers but the source model has {layers}");
        AssertCleanError(CliProcess.Run("demo", "--base", dir, "--shape", "1,2", "--out", tmp["demo"]), "--shape '1,2': expected three integers P,R,C");
        Assert.False(Directory.Exists(tmp["demo"]));   // refused before anything is written
    }

    [Theory]
    [InlineData("tpu", "'tpu': expected cpu, cuda or cuda:N.")]
    [InlineData("cuda:x", "'cuda:x': the CUDA index must be a non-negative integer")]
    public void AnUnknownDeviceIsOneLineNamingTheValueForEveryVerb(string device, string expected)
    {
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        var runs = new[]
        {
            CliProcess.Run("generate", "--model", dir, "--prompt", "a", "--device", device),
            CliProcess.Run("logits", "--model", dir, "--ids", "1,2", "--out", tmp["l.safetensors"], "--device", device),
            CliProcess.Run("convert", "--from", dir, "--out", tmp["rec"], "--shape", "1,1,1", "--verify", "--device", device),
            CliProcess.Run("demo", "--base", dir, "--out", tmp["demo"], "--device", device),
        };
        foreach (var r in runs)
        {
            AssertCleanError(r, "--device " + expected);
            Assert.Single(r.Stderr.Trim().Split('\n'));
        }
        var train = CliProcess.Run("train", "--config", Path.Combine(TestPaths.RepoRoot, "configs", "ci-tiny.yaml"), "--out", tmp["train"], "--device", device);
        AssertCleanError(train, "device " + expected);
        foreach (var written in new[] { "l.safetensors", "rec", "demo", "train" }) Assert.False(Path.Exists(tmp[written]), written);
    }

    [Fact]
    public void CudaWithoutCudaSaysWhatTheBuildHasAndHowToBuildForIt()
    {
        if (TorchSharp.torch.cuda.is_available()) return;   // the refusal is only observable on a machine without CUDA
        using var tmp = new TestPaths.TempDir();
        var dir = CopyFixture(tmp, "llama-tiny");
        foreach (var device in new[] { "cuda", "cuda:7" })
        {
            var r = CliProcess.Run("generate", "--model", dir, "--prompt", "a", "--device", device);
            AssertCleanError(r, $"--device '{device}': CUDA is not available here", "libtorch-cpu", "-p:LibTorchPackage=libtorch-cuda-12.8-linux-x64");
            Assert.Single(r.Stderr.Trim().Split('\n'));
        }
    }

    [Fact]
    public void VerboseShowsTheStackTrace()
    {
        using var tmp = new TestPaths.TempDir();
        var r = CliProcess.Run("inspect", "--model", tmp["nope"], "--verbose");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("   at ", r.Stderr);
    }

    private static void RewriteTensors(string path, Action<Dictionary<string, Tensor>> edit)
    {
        Dictionary<string, Tensor> d;
        using (var f = SafetensorsFile.Open(path))
            d = f.Entries.Keys.ToDictionary(k => k, k => f.Read(k));
        edit(d);
        SafetensorsWriter.Write(path, d);
        foreach (var t in d.Values) t.Dispose();
    }

    [Fact]
    public void LibrarySettingsAreShownAsTheCommandsFlags()
    {
        var command = new System.CommandLine.Command("eval") { new System.CommandLine.Option<int>("--batch-size"), new System.CommandLine.Option<string>("--fewshot-file") };
        var e = DeepenException.BadSetting("batch_size", "0: expected at least 1; or pass `fewshot_file`, or set `label`.");
        Assert.Equal("batch_size 0: expected at least 1; or pass `fewshot_file`, or set `label`.", e.Message);   // the library's words
        Assert.Equal("--batch-size 0: expected at least 1; or pass --fewshot-file, or set `label`.", Deepen.Cli.CliRunner.InFlags(command, e));
        Assert.Equal("no flag: `batch_size` stays", Deepen.Cli.CliRunner.InFlags(new System.CommandLine.Command("train"), new DeepenException("no flag: `batch_size` stays")));
    }
}
