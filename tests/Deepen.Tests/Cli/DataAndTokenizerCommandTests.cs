using System.CommandLine;
using Deepen.Cli.Commands;

namespace Deepen.Tests.Cli;

/// <summary>The <c>data synth-math</c> and <c>tokenizer train</c> verbs parse their options, write their outputs and exit 1 on user errors.</summary>
public class DataAndTokenizerCommandTests
{
    private static int Run(params string[] args) =>
        new RootCommand { DataCommand.Create(), TokenizerCommand.Create() }.Parse(args).Invoke();

    [Fact]
    public void SynthMathWritesTheRequestedProblems()
    {
        using var dir = new TestPaths.TempDir();
        Assert.Equal(0, Run("data", "synth-math", "--count", "30", "--ops", "2,5", "--split", "test", "--format", "direct", "--seed", "3", "--out", dir["m.jsonl"]));
        var lines = File.ReadAllLines(dir["m.jsonl"]);
        Assert.Equal(30, lines.Length);
        Assert.All(lines, l => Assert.Matches("\"answer\":\"#### \\d+\",\"ops\":[25],\"text\":\"Question: [^\"]+\\\\nAnswer: #### \\d+\"}$", l));
        Assert.Equal(1, Run("data", "synth-math", "--ops", "9", "--out", dir["bad.jsonl"]));
        Assert.False(File.Exists(dir["bad.jsonl"]));
    }

    [Fact]
    public void SynthChainWritesTheRequestedProblems()
    {
        using var dir = new TestPaths.TempDir();
        Assert.Equal(0, Run("data", "synth-chain", "--count", "40", "--ops", "3,12", "--split", "validation", "--seed", "4", "--out", dir["c.jsonl"]));
        var lines = File.ReadAllLines(dir["c.jsonl"]);
        Assert.Equal(40, lines.Length);
        Assert.All(lines, l => Assert.Matches("^\\{\"question\":\"mod 10: \\d( [+*-]\\d)+ =\",\"answer\":\" \\d\",\"ops\":(3|12),\"result\":\\d,", l));
        Assert.Equal(0, Run("data", "synth-chain", "--count", "20", "--ops", "2", "--worked-fraction", "1", "--allow-repeats", "--out", dir["w.jsonl"]));
        Assert.All(File.ReadAllLines(dir["w.jsonl"]), l => Assert.Matches("work: \\d[+*-]\\d=\\d \\d[+*-]\\d=\\d = \\d", l));
        Assert.Equal(1, Run("data", "synth-chain", "--ops", "0-3", "--out", dir["bad.jsonl"]));
        Assert.False(File.Exists(dir["bad.jsonl"]));
    }

    [Fact]
    public void SynthHopsWritesTheRequestedProblems()
    {
        using var dir = new TestPaths.TempDir();
        Assert.Equal(0, Run("data", "synth-hops", "--count", "30", "--hops", "2,5", "--chains", "2", "--split", "test", "--seed", "4", "--out", dir["h.jsonl"]));
        var lines = File.ReadAllLines(dir["h.jsonl"]);
        Assert.Equal(30, lines.Length);
        Assert.All(lines, l => Assert.Matches("^\\{\"question\":\"find ([a-z]):[a-z]=[a-z0-9](;[a-z]=[a-z0-9])+\\.\\1\\?\",\"answer\":\"\\d\",\"ops\":(2|5),", l));
        Assert.Equal(0, Run("data", "synth-hops", "--count", "40", "--hops", "3", "--worked-fraction", "1", "--out", dir["w.jsonl"]));
        Assert.All(File.ReadAllLines(dir["w.jsonl"]), l => Assert.Matches("\"answer\":\"[a-z]>[a-z]>\\d\"", l));
        Assert.Equal(1, Run("data", "synth-hops", "--hops", "1-9", "--chains", "3", "--out", dir["bad.jsonl"]));
        Assert.False(File.Exists(dir["bad.jsonl"]));
    }

    [Fact]
    public void TokenizerTrainWritesTheHfFiles()
    {
        using var dir = new TestPaths.TempDir();
        File.WriteAllText(dir["corpus.txt"], string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog 42 times.\n", 50)));
        Assert.Equal(0, Run("tokenizer", "train", "--corpus", dir["corpus.txt"], "--vocab-size", "300", "--out", dir["tok"]));
        Assert.Equal(["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"],
            Directory.GetFiles(dir["tok"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(1, Run("tokenizer", "train", "--corpus", dir["missing.txt"], "--out", dir["tok2"]));
    }
}
