namespace Deepen.Tests;

/// <summary>Paths the tests read: the repository root (found from the test binary) and its fixtures.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Fixtures => Path.Combine(RepoRoot, "tests", "fixtures");

    public static string FixtureModel(string name) => Path.Combine(Fixtures, "models", name);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Deepen.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"Deepen.slnx not found above {AppContext.BaseDirectory}.");
    }

    /// <summary>A fresh empty directory under the system temp folder, deleted when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "deepen-test-" + Guid.NewGuid().ToString("N")[..12]);
        public TempDir() => Directory.CreateDirectory(Path);
        public string this[string name] => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
    }
}
