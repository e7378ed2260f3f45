using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Deepen.Inference;
using Deepen.Modeling;
using Deepen.Tests.Inference;
using Deepen.Tokenization;
using Generator = Deepen.Inference.Generator;
using Deepen.Models;

namespace Deepen.Tests.Cli;

/// <summary>
/// <c>deepen generate</c>, <c>chat</c> and <c>serve</c> as a user runs them: the streamed text equals the library's,
/// <c>--show-depth</c> marks every token, bad input is one clear error, chat keeps a conversation, serve answers on loopback.
/// </summary>
public sealed class InferenceCommandTests : IClassFixture<InferenceCommandTests.Files>
{
    public sealed class Files : IDisposable
    {
        public TinyTextModel Text { get; } = new(context: 96);
        public void Dispose() => Text.Dispose();
    }

    private readonly string dir;
    public InferenceCommandTests(Files f) => dir = f.Text.Dir;

    private string Expected(string prompt, int tokens, int r)
    {
        using var model = DeepenModel.Load(dir);
        using var tok = TextTokenizer.FromDirectory(dir);
        return new Generator(model, tok).Generate([prompt], new GenerationOptions { MaxNewTokens = tokens, Depth = DepthOptions.Fixed(r, StateInit.Zeros) })[0].Text;
    }

    private static void AssertCleanError(CliProcess.Result r, string message)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: ", r.Stderr);
        Assert.Contains(message, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void GenerateStreamsTheLibrarysText()
    {
        var r = CliProcess.Run("generate", "--model", dir, "--prompt", "Q: what is 2 plus", "--recurrence", "3", "--state", "zeros", "--max-new-tokens", "12");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(Expected("Q: what is 2 plus", 12, 3) + "\n", r.Stdout);
        Assert.Contains("tokens/s", r.Stderr);
    }

    [Fact]
    public void ShowDepthMarksEveryTokenWithItsRecurrences()
    {
        using var tmp = new TestPaths.TempDir();
        File.WriteAllText(tmp["prompt.txt"], "the lazy dog");
        var r = CliProcess.Run("generate", "--model", dir, "--prompt-file", tmp["prompt.txt"], "--adaptive", "kl:0.3", "--max-recurrence", "6",
            "--max-new-tokens", "10", "--show-depth", "--state", "zeros");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var marks = Regex.Matches(r.Stdout, @"\[(\d+)\]").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        int tokens = int.Parse(Regex.Match(r.Stderr, @"^(\d+) tokens").Groups[1].Value);
        Assert.Equal(tokens, marks.Count);
        Assert.All(marks, d => Assert.InRange(d, 2, 6));
        Assert.Contains("recurrences per token", r.Stderr);
    }

    [Theory]
    [InlineData("--temperature", "-1", "--temperature -1")]
    [InlineData("--top-p", "1.5", "--top-p 1.5")]
    [InlineData("--top-k", "-3", "--top-k -3")]
    [InlineData("--repetition-penalty", "0", "--repetition-penalty 0")]
    [InlineData("--max-new-tokens", "-2", "--max-new-tokens -2")]
    [InlineData("--recurrence", "0", "--recurrence 0")]
    [InlineData("--adaptive", "entropy:1", "unknown criterion")]
    [InlineData("--kv-keep-iterations", "0", "keep-iterations 0")]
    [InlineData("--state", "ones", "--state 'ones'")]
    public void InvalidValuesAreClearErrors(string flag, string value, string message) =>
        AssertCleanError(CliProcess.Run("generate", "--model", dir, "--prompt", "hi", flag, value), message);

    [Fact]
    public void PromptProblemsAreClearErrorsAndTruncationIsOnRequest()
    {
        AssertCleanError(CliProcess.Run("generate", "--model", dir), "exactly one of --prompt or --prompt-file");
        AssertCleanError(CliProcess.Run("generate", "--model", dir, "--prompt-file", "/nonexistent/p.txt"), "file not found");
        var longPrompt = string.Join(" ", Enumerable.Repeat("lazy dog", 100));
        AssertCleanError(CliProcess.Run("generate", "--model", dir, "--prompt", longPrompt), "the model's context is 96 tokens");
        var ok = CliProcess.Run("generate", "--model", dir, "--prompt", longPrompt, "--truncate", "--max-new-tokens", "4");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.StartsWith("4 tokens", ok.Stderr);
        AssertCleanError(CliProcess.Run("generate", "--model", dir, "--prompt", "x", "--max-recurrence", "8"), "--max-recurrence goes with --adaptive");
    }

    [Fact]
    public void DepthFlagsOnAPlainModelAreErrors()
    {
        using var tmp = new TestPaths.TempDir();
        foreach (var f in Directory.GetFiles(TestPaths.FixtureModel("llama-tiny"))) File.Copy(f, tmp[Path.GetFileName(f)]);
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "tokenizers", "tiny-wordlevel"))) File.Copy(f, tmp[Path.GetFileName(f)]);
        AssertCleanError(CliProcess.Run("generate", "--model", tmp.Path, "--prompt", "hello world", "--recurrence", "4"), "applies to recurrent models");
        var ok = CliProcess.Run("generate", "--model", tmp.Path, "--prompt", "hello world", "--max-new-tokens", "5");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
    }

    [Fact]
    public void ChatKeepsAConversationAndUnknownTemplatesAreErrors()
    {
        AssertCleanError(CliProcess.Run("chat", "--model", dir, "--chat-template", "chatml"), "unknown chat template");
        var r = RunWithInput(["chat", "--model", dir, "--temperature", "0", "--state", "zeros", "--recurrence", "2", "--max-new-tokens", "8"],
            "what is 2 plus 3?\n/reset\nhello\n/exit\n");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var model = DeepenModel.Load(dir);
        using var tok = TextTokenizer.FromDirectory(dir);
        var format = ChatFormat.For(tok);
        var options = new GenerationOptions { MaxNewTokens = 8, Depth = DepthOptions.Fixed(2, StateInit.Zeros), StopStrings = format.StopStrings };
        var first = new Generator(model, tok).Generate([format.Encode(tok, [new("user", "what is 2 plus 3?")])], options)[0].Text;
        var second = new Generator(model, tok).Generate([format.Encode(tok, [new("user", "hello")])], options)[0].Text;   // after /reset
        Assert.Equal($"> {first}\n> > {second}\n> ", r.Stdout);   // the /reset line gets a prompt and no reply
        Assert.Contains("conversation cleared", r.Stderr);
    }

    [Fact]
    public async Task ServeAnswersOnLoopback()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Deepen.Cli.dll"), "serve", "--model", dir, "--port", "0", "--recurrence", "2" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        try
        {
            string? address = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (address is null)
            {
                var line = await p.StandardError.ReadLineAsync(timeout.Token) ?? throw new Exception("serve exited before it was listening");
                var m = Regex.Match(line, @"on (http://127\.0\.0\.1:\d+/)");
                if (m.Success) address = m.Groups[1].Value;
            }
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
            var models = JsonNode.Parse(await http.GetStringAsync("v1/models"))!;
            Assert.Equal("model", models["data"]![0]!["id"]!.GetValue<string>());
            using var bad = await http.PostAsync("v1/completions", new StringContent("{oops"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
    }

    private static CliProcess.Result RunWithInput(string[] args, string input)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Deepen.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("chat did not finish in 120 s"); }
        return new CliProcess.Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
