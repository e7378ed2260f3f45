using System.CommandLine;
using Deepen.Torch;
using TorchSharp;

namespace Deepen.Cli.Commands;

/// <summary><c>--device cpu|cuda|cuda:N</c>, shared by every verb that computes; the choice is printed to stderr.</summary>
public static class DeviceFlag
{
    public static Option<string?> Create() =>
        new("--device") { Description = $"Compute device: {ComputeDevice.Choices} (default: cuda when TorchSharp finds a CUDA device, else cpu)." };

    /// <summary>The device asked for (or the default), checked against this build and machine before anything is loaded.</summary>
    public static torch.Device Resolve(ParseResult parse, Option<string?> option) => ComputeDevice.Resolve(parse.GetValue(option));

    /// <summary>Prints which device the run uses, to stderr, once the inputs are checked (an error before it stays the only line).</summary>
    public static void Announce(ParseResult parse, Option<string?> option, torch.Device device) =>
        Console.Error.WriteLine(ComputeDevice.Describe(device, chosen: !string.IsNullOrWhiteSpace(parse.GetValue(option))));

    /// <summary>" on cpu" or " on cuda:0 (default)", for the line a verb already prints about its run.</summary>
    public static string On(ParseResult parse, Option<string?> option, torch.Device device) =>
        $" on {ComputeDevice.Name(device)}" + (string.IsNullOrWhiteSpace(parse.GetValue(option)) ? " (default)" : "");
}
