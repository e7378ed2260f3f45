using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Deepen.Tests.Packaging;

/// <summary>
/// The library as a user gets it: <c>dotnet pack</c> makes the Deepen package (TorchSharp's managed API, no libtorch),
/// and a fresh console project outside the repository that references it and libtorch-cpu-linux-x64 builds and runs
/// the README's "Use Deepen as a library" program (docs/library/Program.cs, the same text), so the docs cannot rot.
/// </summary>
public class LibraryPackageTests
{
    private static readonly string ProgramFile = Path.Combine(TestPaths.RepoRoot, "docs", "library", "Program.cs");

    [Fact]
    public void TheReadmeShowsTheProgramTheTestRuns()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var block = Regex.Match(readme, "## Use Deepen as a library.*?```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "README.md has no csharp block under '## Use Deepen as a library'");
        Assert.Equal(File.ReadAllText(ProgramFile).ReplaceLineEndings("\n"), block.Groups[1].Value.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void ThePackedLibraryRunsTheReadmeProgramInAFreshProject()
    {
        using var tmp = new TestPaths.TempDir();
        // A version of its own, so no earlier test's package in the NuGet cache can stand in for this build's.
        var version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var feed = tmp["feed"];
        try
        {
            Dotnet(TestPaths.RepoRoot, "pack", Path.Combine("src", "Deepen"), "-c", "Release", "-o", feed, $"-p:Version={version}", "-nodeReuse:false");
            var package = Path.Combine(feed, $"Deepen.{version}.nupkg");
            Assert.True(File.Exists(package), package);
            using (var zip = System.IO.Compression.ZipFile.OpenRead(package))
            {
                var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open()).ReadToEnd();
                Assert.Contains("id=\"TorchSharp\"", nuspec);
                Assert.DoesNotContain("dependency id=\"libtorch", nuspec);   // the application picks the libtorch build
                Assert.Contains(zip.Entries, e => e.FullName == "buildTransitive/Deepen.targets");
            }

            var app = tmp["app"];
            Directory.CreateDirectory(app);
            File.Copy(ProgramFile, Path.Combine(app, "Program.cs"));
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="deepen-test-feed" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
                    <SelfContained>false</SelfContained>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Deepen" Version="{version}" />
                    <PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />
                  </ItemGroup>
                </Project>
                """);
            Dotnet(app, "build", "-c", "Release", "-nodeReuse:false");
            var run = Dotnet(app, "run", "-c", "Release", "--no-build", "--", Path.Combine(TestPaths.RepoRoot, "models", "tiny-base-chains"), "cpu");
            Assert.Matches(@"converted to \(2,4,2\), max \|Δlogit\| 0\.0E\+000", run);
            Assert.Matches(@"cpu, r = 1: \S", run);
            Assert.Matches(@"cpu, r = 4: \S", run);
        }
        finally
        {
            var cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "deepen", version);
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }

    /// <summary>Runs dotnet in <paramref name="dir"/>; its output, or a failure with the output when it exits non-zero.</summary>
    private static string Dotnet(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish in 600 s"); }
        var output = stdout.Result + stderr.Result;
        Assert.True(p.ExitCode == 0, $"dotnet {string.Join(' ', args)} in {dir} exited {p.ExitCode}:\n{output}");
        return output;
    }
}
