using TorchSharp;

namespace Deepen.Torch;

/// <summary>
/// The device a run computes on, from <c>--device cpu|cuda|cuda:N</c> or the <c>device:</c> config key, checked against
/// what this build and machine have before anything is loaded. Without a choice the default is <c>cuda</c> when TorchSharp
/// reports it available, else <c>cpu</c>.
/// </summary>
public static class ComputeDevice
{
    /// <summary>The words <see cref="Resolve(string?, string)"/> accepts, for help texts.</summary>
    public const string Choices = "cpu, cuda or cuda:N";

    /// <summary>How to get a CUDA build, for the error when CUDA is asked for and absent.</summary>
    public const string CudaBuildHint = "build with CUDA: dotnet build -p:LibTorchPackage=libtorch-cuda-12.8-linux-x64 (see Directory.Build.props)";

    /// <summary>
    /// The device named by <paramref name="text"/> (null or empty: the default), or an error naming <paramref name="key"/>,
    /// the value and what was expected: an unknown device type, CUDA on a build or machine without it, or a CUDA index
    /// beyond the devices present.
    /// </summary>
    public static torch.Device Resolve(string? text, string key = "device") =>
        Resolve(text, key, torch.cuda.is_available, torch.cuda.device_count);

    /// <summary><see cref="Resolve(string?, string)"/> with the CUDA probes given, so the rules are testable on any machine.</summary>
    public static torch.Device Resolve(string? text, string key, Func<bool> cudaAvailable, Func<int> cudaCount)
    {
        if (string.IsNullOrWhiteSpace(text)) return cudaAvailable() ? new torch.Device(DeviceType.CUDA, 0) : torch.CPU;
        var word = text.Trim().ToLowerInvariant();
        if (word == "cpu") return torch.CPU;
        if (word != "cuda" && !word.StartsWith("cuda:", StringComparison.Ordinal))
            throw DeepenException.BadSetting(key, $"'{text}': expected {Choices}.");
        int index = 0;
        if (word.Length > 4 && (!int.TryParse(word[5..], out index) || index < 0))
            throw DeepenException.BadSetting(key, $"'{text}': the CUDA index must be a non-negative integer, e.g. cuda:0.");
        if (!cudaAvailable())
            throw DeepenException.BadSetting(key, $"'{text}': CUDA is not available here: this build has {BuildBackend()} and TorchSharp finds no CUDA device, so {CudaBuildHint}.");
        int count = cudaCount();
        if (index >= count)
            throw DeepenException.BadSetting(key, $"'{text}': this machine has {count} CUDA device{(count == 1 ? "" : "s")} (cuda:0{(count > 1 ? $"–cuda:{count - 1}" : "")}).");
        return new torch.Device(DeviceType.CUDA, index);
    }

    /// <summary>
    /// The device of the rank with <paramref name="localRank"/> on its machine: with several ranks, <c>cuda</c> (no index
    /// given) means one GPU per rank, cuda:(local rank mod GPUs); an explicit <c>cuda:N</c> or the CPU stays as asked.
    /// </summary>
    public static torch.Device ForRank(torch.Device device, string? text, int localRank) =>
        ForRank(device, text, localRank, torch.cuda.device_count);

    /// <summary><see cref="ForRank(torch.Device, string?, int)"/> with the GPU count given, so the rule is testable anywhere.</summary>
    public static torch.Device ForRank(torch.Device device, string? text, int localRank, Func<int> cudaCount) =>
        device.type == DeviceType.CUDA && text?.Contains(':') != true
            ? new torch.Device(DeviceType.CUDA, localRank % Math.Max(1, cudaCount()))
            : device;

    /// <summary>Whether two devices are the same one (a CPU index of −1 and 0 alike; CUDA with no index is cuda:0).</summary>
    public static bool Same(torch.Device a, torch.Device b) =>
        a.type == b.type && (a.type == DeviceType.CPU || Math.Max(0, a.index) == Math.Max(0, b.index));

    /// <summary>The device's name as the flags write it: <c>cpu</c> or <c>cuda:N</c>.</summary>
    public static string Name(torch.Device device) =>
        device.type == DeviceType.CPU ? "cpu" : $"{device.type.ToString().ToLowerInvariant()}:{Math.Max(0, device.index)}";

    /// <summary>The one line a run prints about its device, e.g. "device: cpu (default; CUDA not available)".</summary>
    public static string Describe(torch.Device device, bool chosen) =>
        $"device: {Name(device)}" + (chosen ? "" : device.type == DeviceType.CPU ? " (default; CUDA not available)" : " (default: CUDA available)");

    /// <summary>Which libtorch this build ships: a CUDA one or the CPU-only one beside the program, or none (a -p:LibTorchPackage=none build).</summary>
    private static string BuildBackend()
    {
        bool Beside(params string[] names) => names.Any(n => File.Exists(Path.Combine(AppContext.BaseDirectory, n)));
        return Beside("libtorch_cuda.so", "torch_cuda.dll") ? "a CUDA libtorch"
            : Beside("libtorch_cpu.so", "torch_cpu.dll") ? "the CPU-only libtorch (libtorch-cpu)"
            : "no libtorch of its own (it uses the one the loader finds on LD_LIBRARY_PATH)";
    }
}
