using System.Diagnostics;

namespace Deepen.Tests.Cli;

/// <summary>Runs the built <c>deepen</c> CLI as a separate process, as a user would.</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Deepen.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Other test classes run in parallel: spin-waiting OpenMP threads would slow a child training run 5-8x.
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(300_000)) { p.Kill(true); throw new TimeoutException($"deepen {string.Join(' ', args)} did not finish in 300 s"); }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
