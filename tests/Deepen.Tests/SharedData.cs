namespace Deepen.Tests;

/// <summary>
/// The shared data folder (tokenizers, small checkpoints, corpora) kept outside the repository, at
/// <c>../shared/data</c> relative to the repository root (<see cref="TestPaths.RepoRoot"/>, the folder holding
/// Deepen.slnx). Tests that read it use <see cref="SharedDataFactAttribute"/> or <see cref="SharedDataTheoryAttribute"/>,
/// so that they are reported as skipped, with the reason, where it is absent.
/// </summary>
public static class SharedData
{
    /// <summary>The absolute path of the shared data folder, whether or not it exists.</summary>
    public static string Root => Path.GetFullPath(Path.Combine(TestPaths.RepoRoot, "..", "shared", "data"));

    /// <summary>The absolute path of <paramref name="relative"/> inside the shared data folder.</summary>
    /// <exception cref="DirectoryNotFoundException">The shared data folder or the path in it does not exist.</exception>
    public static string PathOf(string relative)
    {
        var path = Path.GetFullPath(Path.Combine(Root, relative));
        return File.Exists(path) || Directory.Exists(path)
            ? path
            : throw new DirectoryNotFoundException(MissingReason(relative) ?? $"'{path}' is missing.");
    }

    /// <summary>Why a test that needs <paramref name="relative"/> (or just the shared folder when empty) must be skipped; null when nothing is missing.</summary>
    public static string? MissingReason(string relative = "")
    {
        if (!Directory.Exists(Root))
            return $"shared data folder '{Root}' is missing (expected '../shared/data' beside the repository root '{TestPaths.RepoRoot}')";
        var path = Path.GetFullPath(Path.Combine(Root, relative));
        return File.Exists(path) || Directory.Exists(path) ? null : $"shared data '{path}' is missing";
    }
}

/// <summary>A fact that is skipped, with the reason shown, when shared data it needs is missing.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    /// <param name="requiredPaths">Paths relative to the shared data folder that the test reads.</param>
    public SharedDataFactAttribute(params string[] requiredPaths) =>
        Skip = SharedDataSkip.Reason(requiredPaths);
}

/// <summary>A theory that is skipped, with the reason shown, when shared data it needs is missing.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    /// <param name="requiredPaths">Paths relative to the shared data folder that the test reads.</param>
    public SharedDataTheoryAttribute(params string[] requiredPaths) =>
        Skip = SharedDataSkip.Reason(requiredPaths);
}

internal static class SharedDataSkip
{
    public static string? Reason(string[] requiredPaths)
    {
        foreach (var relative in requiredPaths.Length == 0 ? [""] : requiredPaths)
        {
            if (SharedData.MissingReason(relative) is { } reason)
                return $"Skipped: {reason}.";
        }
        return null;
    }
}
