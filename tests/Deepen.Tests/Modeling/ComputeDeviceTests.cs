using Deepen.Torch;
using TorchSharp;
using Xunit;

namespace Deepen.Tests.Modeling;

/// <summary>The device rules of <c>--device</c> / <c>device:</c>, with the CUDA probes given so each case runs on any machine.</summary>
public class ComputeDeviceTests
{
    private static torch.Device Resolve(string? text, bool cuda, int count) => ComputeDevice.Resolve(text, "device", () => cuda, () => count);

    [Theory]
    [InlineData(null, false, 0, "cpu")]
    [InlineData("", false, 0, "cpu")]
    [InlineData(null, true, 1, "cuda:0")]
    [InlineData("cpu", true, 2, "cpu")]
    [InlineData("CPU", false, 0, "cpu")]
    [InlineData("cuda", true, 1, "cuda:0")]
    [InlineData("cuda:1", true, 2, "cuda:1")]
    public void Resolves_the_device_asked_for_or_the_best_one_present(string? text, bool cuda, int count, string expected) =>
        Assert.Equal(expected, ComputeDevice.Name(Resolve(text, cuda, count)));

    [Fact]
    public void An_unknown_device_names_the_value_and_the_choices()
    {
        var e = Assert.Throws<DeepenException>(() => Resolve("tpu", true, 1));
        Assert.Equal("device", e.Setting);
        Assert.Equal("device 'tpu': expected cpu, cuda or cuda:N.", e.Message);
    }

    [Fact]
    public void Cuda_without_cuda_says_what_the_build_has_and_how_to_build_for_cuda()
    {
        var e = Assert.Throws<DeepenException>(() => Resolve("cuda", false, 0));
        Assert.StartsWith("device 'cuda': CUDA is not available here", e.Message);
        Assert.Contains("libtorch-cpu", e.Message);
        Assert.Contains("-p:LibTorchPackage=libtorch-cuda-12.8-linux-x64", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_cuda_index_beyond_the_devices_present_names_how_many_there_are()
    {
        var e = Assert.Throws<DeepenException>(() => Resolve("cuda:7", true, 1));
        Assert.Equal("device 'cuda:7': this machine has 1 CUDA device (cuda:0).", e.Message);
        e = Assert.Throws<DeepenException>(() => Resolve("cuda:2", true, 2));
        Assert.Equal("device 'cuda:2': this machine has 2 CUDA devices (cuda:0–cuda:1).", e.Message);
    }

    [Theory]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:")]
    public void A_malformed_cuda_index_is_an_error(string text)
    {
        var e = Assert.Throws<DeepenException>(() => Resolve(text, true, 1));
        Assert.Contains("non-negative integer", e.Message);
    }

    [Fact]
    public void On_this_machine_cuda_is_refused_exactly_when_torchsharp_finds_none()
    {
        if (torch.cuda.is_available()) Assert.Equal("cuda:0", ComputeDevice.Name(ComputeDevice.Resolve("cuda")));
        else Assert.Throws<DeepenException>(() => ComputeDevice.Resolve("cuda"));
    }

    [Theory]
    [InlineData("cuda", 0, 2, "cuda:0")]
    [InlineData("cuda", 1, 2, "cuda:1")]
    [InlineData("cuda", 3, 2, "cuda:1")]     // more ranks than GPUs on the machine: they share round-robin
    [InlineData(null, 1, 2, "cuda:1")]       // the default on a CUDA machine
    [InlineData("cuda:0", 1, 2, "cuda:0")]   // an explicit index is kept
    [InlineData("cpu", 1, 2, "cpu")]
    public void EachRankTakesItsOwnGpuUnlessOneIsNamed(string? text, int localRank, int gpus, string expected)
    {
        var device = Resolve(text, true, gpus);
        Assert.Equal(expected, ComputeDevice.Name(ComputeDevice.ForRank(device, text, localRank, () => gpus)));
    }
}
