using System.Security.Cryptography;
using System.Text.Json;
using Deepen.Tokenization;

namespace Deepen.Tests.Tokenization;

/// <summary>
/// Tests of <see cref="TextTokenizer"/>. The Llama ids are checked against expected_ids.json, which
/// tests/fixtures/tokenizers/bpe_reference.py wrote with an independent byte-level BPE and Google's sentencepiece.
/// </summary>
public sealed class TextTokenizerTests(LlamaTokenizersFixture llama) : IClassFixture<LlamaTokenizersFixture>
{
    private const string Llama2 = "tokenizers/llama2/tokenizer.model";
    private const string Llama3 = "tokenizers/llama3/tokenizer.json";
    private const string Llama3Config = "tokenizers/llama3/tokenizer_config.json";

    private static readonly string FixtureDir = Path.Combine(TestPaths.Fixtures, "tokenizers");
    private static readonly string TinyDir = Path.Combine(FixtureDir, "tiny-wordlevel");
    private static readonly Lazy<JsonElement> Expected = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDir, "expected_ids.json"))).RootElement);

    /// <summary>The sample sentences of expected_ids.json.</summary>
    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var c in Expected.Value.GetProperty("cases").EnumerateArray())
            data.Add(c.GetProperty("text").GetString()!);
        return data;
    }

    // ---- Llama-2: SentencePiece tokenizer.model ----

    [SharedDataTheory(Llama2)]
    [MemberData(nameof(Samples))]
    public void Llama2_encode_matches_sentencepiece(string text)
    {
        var tokenizer = llama.Llama2;
        Assert.Equal(ExpectedIds(text, "llama2"), tokenizer.Encode(text));
    }

    [SharedDataTheory(Llama2)]
    [MemberData(nameof(Samples))]
    public void Llama2_decode_round_trips_like_sentencepiece(string text)
    {
        var tokenizer = llama.Llama2;
        var expectedText = Case(text).GetProperty("llama2_decoded").GetString();
        Assert.Equal(expectedText, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addSpecialTokens: false)));
    }

    [SharedDataFact(Llama2)]
    public void Llama2_properties_and_specials()
    {
        var tokenizer = llama.Llama2;
        Assert.Equal(TextTokenizer.SentencePieceKind, tokenizer.Kind);
        Assert.Equal(Expected.Value.GetProperty("llama2_tokenizer_model_sha256").GetString(), tokenizer.Fingerprint);
        Assert.Equal(32000, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal("<s>", tokenizer.BosToken);
        Assert.Equal(2, tokenizer.EosId);
        Assert.Equal("</s>", tokenizer.EosToken);
        Assert.Null(tokenizer.PadId);
        Assert.Null(tokenizer.ChatTemplate);
        Assert.True(tokenizer.AddsBos);
        Assert.False(tokenizer.AddsEos);
        Assert.Equal("▁", tokenizer.IdToToken(29871));
        Assert.Equal(15043, tokenizer.TokenToId("▁Hello"));
        Assert.Null(tokenizer.TokenToId("no such piece"));
        Assert.Null(tokenizer.IdToToken(32000));
    }

    [SharedDataFact(Llama2)]
    public void Llama2_empty_text_is_just_bos_like_sentencepiece()
    {
        var tokenizer = llama.Llama2;
        Assert.Equal([1], tokenizer.Encode(""));
        Assert.Empty(tokenizer.Encode("", addSpecialTokens: false));
    }

    [SharedDataFact(Llama2)]
    public void Llama2_without_special_tokens_drops_bos()
    {
        var tokenizer = llama.Llama2;
        const string text = "Hello, world! This is a test.";
        Assert.Equal(ExpectedIds(text, "llama2")[1..], tokenizer.Encode(text, addSpecialTokens: false));
    }

    [SharedDataFact(Llama2)]
    public void Llama2_special_tokens_are_kept_or_skipped_on_decode()
    {
        var tokenizer = llama.Llama2;
        int[] ids = [1, 15043, 3186, 2];
        Assert.Equal("Hello world", tokenizer.Decode(ids));
        Assert.Equal("<s>Hello world</s>", tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [SharedDataFact(Llama2)]
    public void Llama2_config_add_bos_false_and_add_eos_true_are_honoured()
    {
        using var dir = new TestPaths.TempDir();
        File.CreateSymbolicLink(Path.Combine(dir.Path, "tokenizer.model"), SharedData.PathOf(Llama2));
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), """{"add_bos_token": false, "add_eos_token": true}""");
        using var tokenizer = TextTokenizer.FromDirectory(dir.Path);
        const string text = "Hello, world! This is a test.";
        Assert.False(tokenizer.AddsBos);
        Assert.True(tokenizer.AddsEos);
        Assert.Equal([.. ExpectedIds(text, "llama2")[1..], 2], tokenizer.Encode(text));
    }

    // ---- Llama-3: tokenizer.json ----

    [SharedDataTheory(Llama3, Llama3Config)]
    [MemberData(nameof(Samples))]
    public void Llama3_encode_matches_reference_bpe(string text)
    {
        var tokenizer = llama.Llama3;
        Assert.Equal(ExpectedIds(text, "llama3"), tokenizer.Encode(text));
    }

    [SharedDataTheory(Llama3, Llama3Config)]
    [MemberData(nameof(Samples))]
    public void Llama3_decode_round_trips(string text)
    {
        var tokenizer = llama.Llama3;
        var ids = tokenizer.Encode(text);
        Assert.Equal(text, tokenizer.Decode(ids, skipSpecialTokens: false));
        if (!ids.Any(id => id >= 128000))
            Assert.Equal(text, tokenizer.Decode(ids));
    }

    [SharedDataFact(Llama3, Llama3Config)]
    public void Llama3_properties_and_specials()
    {
        var tokenizer = llama.Llama3;
        Assert.Equal(TextTokenizer.TokenizerJsonKind, tokenizer.Kind);
        Assert.Equal(Expected.Value.GetProperty("llama3_tokenizer_json_sha256").GetString(), tokenizer.Fingerprint);
        Assert.Equal(128256, tokenizer.VocabSize);
        Assert.Equal(128000, tokenizer.BosId);
        Assert.Equal("<|begin_of_text|>", tokenizer.BosToken);
        Assert.Equal(128001, tokenizer.EosId);
        Assert.Equal("<|end_of_text|>", tokenizer.EosToken);
        Assert.Null(tokenizer.PadId);
        Assert.False(string.IsNullOrWhiteSpace(tokenizer.ChatTemplate));
        Assert.Contains("<|start_header_id|>", tokenizer.ChatTemplate);
        Assert.Equal(128000, tokenizer.TokenToId("<|begin_of_text|>"));
        Assert.Equal("Ġworld", tokenizer.IdToToken(1917));
        Assert.Null(tokenizer.IdToToken(128256));
    }

    [SharedDataFact(Llama3, Llama3Config)]
    public void Llama3_follows_its_post_processor_which_adds_no_bos()
    {
        // This tokenizer.json's post_processor is a plain ByteLevel one (the first Llama-3 release), and
        // tokenizer_config.json has no add_bos_token, so transformers adds no BOS; neither do we.
        var tokenizer = llama.Llama3;
        Assert.False(tokenizer.AddsBos);
        Assert.False(tokenizer.AddsEos);
        Assert.Empty(tokenizer.Encode(""));
        Assert.Equal(tokenizer.Encode("Hello"), tokenizer.Encode("Hello", addSpecialTokens: false));
    }

    [SharedDataFact(Llama3)]
    public void Llama3_config_add_bos_true_adds_bos()
    {
        using var dir = new TestPaths.TempDir();
        File.CreateSymbolicLink(Path.Combine(dir.Path, "tokenizer.json"), SharedData.PathOf(Llama3));
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"),
            """{"add_bos_token": true, "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}""");
        using var tokenizer = TextTokenizer.FromDirectory(dir.Path);
        const string text = "Hello, world! This is a test.";
        Assert.True(tokenizer.AddsBos);
        Assert.Equal([128000, .. ExpectedIds(text, "llama3")], tokenizer.Encode(text));
        Assert.Equal([128000], tokenizer.Encode(""));
        Assert.Equal(ExpectedIds(text, "llama3"), tokenizer.Encode(text, addSpecialTokens: false));
        Assert.Equal("<|begin_of_text|>" + text, tokenizer.Decode(tokenizer.Encode(text), skipSpecialTokens: false));
    }

    [SharedDataFact(Llama3)]
    public void Llama3_without_config_falls_back_to_model_config_ids()
    {
        using var dir = new TestPaths.TempDir();
        File.CreateSymbolicLink(Path.Combine(dir.Path, "tokenizer.json"), SharedData.PathOf(Llama3));
        File.WriteAllText(Path.Combine(dir.Path, "generation_config.json"),
            """{"bos_token_id": 128000, "eos_token_id": [128001, 128009]}""");
        using var tokenizer = TextTokenizer.FromDirectory(dir.Path);
        Assert.Equal(128000, tokenizer.BosId);
        Assert.Equal("<|begin_of_text|>", tokenizer.BosToken);
        Assert.Equal(128001, tokenizer.EosId);
        Assert.Null(tokenizer.ChatTemplate);
    }

    // ---- A tiny hand-written tokenizer.json with a TemplateProcessing post_processor (no shared data) ----

    [Fact]
    public void Template_post_processor_adds_bos_and_eos()
    {
        using var tokenizer = TextTokenizer.FromDirectory(TinyDir);
        Assert.Equal(TextTokenizer.TokenizerJsonKind, tokenizer.Kind);
        Assert.Equal([1, 4, 5, 6, 2], tokenizer.Encode("hello world !"));
        Assert.Equal([4, 5, 6], tokenizer.Encode("hello world !", addSpecialTokens: false));
        Assert.True(tokenizer.AddsBos);
        Assert.True(tokenizer.AddsEos);
        Assert.Equal("hello world !", tokenizer.Decode([1, 4, 5, 6, 2]));
    }

    [Fact]
    public void Tiny_specials_chat_template_and_fingerprint()
    {
        using var tokenizer = TextTokenizer.FromDirectory(TinyDir);
        Assert.Equal((1, "<s>"), (tokenizer.BosId, tokenizer.BosToken));
        Assert.Equal((2, "</s>"), (tokenizer.EosId, tokenizer.EosToken));
        Assert.Equal(3, tokenizer.PadId);
        Assert.Equal(7, tokenizer.VocabSize);
        Assert.Equal("{% for m in messages %}{{ m['content'] }}{% endfor %}", tokenizer.ChatTemplate);
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(TinyDir, "tokenizer.json"))));
        Assert.Equal(sha, tokenizer.Fingerprint);
    }

    [Fact]
    public void Config_add_eos_false_removes_the_templates_eos()
    {
        using var dir = WithTinyTokenizer("""{"bos_token": "<s>", "eos_token": "</s>", "add_eos_token": false}""");
        using var tokenizer = TextTokenizer.FromDirectory(dir.Path);
        Assert.Equal([1, 4, 5], tokenizer.Encode("hello world"));
        Assert.True(tokenizer.AddsBos);
        Assert.False(tokenizer.AddsEos);
    }

    [Fact]
    public void Chat_template_jinja_file_is_used_when_the_config_has_none()
    {
        using var dir = WithTinyTokenizer("""{"bos_token": "<s>"}""");
        File.WriteAllText(Path.Combine(dir.Path, "chat_template.jinja"), "{{ messages }}");
        using var tokenizer = TextTokenizer.FromDirectory(dir.Path);
        Assert.Equal("{{ messages }}", tokenizer.ChatTemplate);
    }

    [Fact]
    public void Decode_rejects_ids_outside_the_vocabulary()
    {
        using var tokenizer = TextTokenizer.FromDirectory(TinyDir);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([4, 7]));
        Assert.Contains("7", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([-1]));
    }

    // ---- Errors ----

    [Fact]
    public void Directory_without_tokenizer_files_names_the_directory_and_both_files()
    {
        using var dir = new TestPaths.TempDir();
        var e = Assert.Throws<DeepenException>(() => TextTokenizer.FromDirectory(dir.Path));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("tokenizer.model", e.Message);
    }

    [Fact]
    public void Missing_directory_is_named()
    {
        var missing = Path.Combine(Path.GetTempPath(), "deepen-no-such-dir-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<DeepenException>(() => TextTokenizer.FromDirectory(missing));
        Assert.Contains(missing, e.Message);
    }

    [Theory]
    [InlineData("tokenizer.json", "{not json")]
    [InlineData("tokenizer.json", """{"model": {"type": "BPE"}}""")]
    [InlineData("tokenizer.model", "this is not a SentencePiece protobuf \u0001\u0002")]
    public void Unreadable_tokenizer_file_is_named(string fileName, string content)
    {
        using var dir = new TestPaths.TempDir();
        var path = Path.Combine(dir.Path, fileName);
        File.WriteAllText(path, content);
        var e = Assert.Throws<DeepenException>(() => TextTokenizer.FromDirectory(dir.Path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Malformed_tokenizer_config_is_named()
    {
        using var dir = WithTinyTokenizer("""{"bos_token": 5}""");
        var e = Assert.Throws<DeepenException>(() => TextTokenizer.FromDirectory(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, "tokenizer_config.json"), e.Message);
        Assert.Contains("bos_token", e.Message);
    }

    [Fact]
    public void Config_special_token_missing_from_the_vocabulary_is_an_error()
    {
        using var dir = WithTinyTokenizer("""{"eos_token": "<|eot|>"}""");
        var e = Assert.Throws<DeepenException>(() => TextTokenizer.FromDirectory(dir.Path));
        Assert.Contains("<|eot|>", e.Message);
        Assert.Contains("eos_token", e.Message);
    }

    private static JsonElement Case(string text) =>
        Expected.Value.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("text").GetString() == text);

    private static int[] ExpectedIds(string text, string tokenizer) =>
        [.. Case(text).GetProperty(tokenizer).EnumerateArray().Select(e => e.GetInt32())];

    /// <summary>A temporary folder holding a copy of the tiny tokenizer.json and the given tokenizer_config.json.</summary>
    private static TestPaths.TempDir WithTinyTokenizer(string tokenizerConfigJson)
    {
        var dir = new TestPaths.TempDir();
        File.Copy(Path.Combine(TinyDir, "tokenizer.json"), dir["tokenizer.json"]);
        File.WriteAllText(dir["tokenizer_config.json"], tokenizerConfigJson);
        return dir;
    }
}

/// <summary>The shared Llama-2 and Llama-3 tokenizers, loaded once per test class and only when a test asks.</summary>
public sealed class LlamaTokenizersFixture : IDisposable
{
    private readonly Lazy<TextTokenizer> llama2 = new(() => TextTokenizer.FromDirectory(SharedData.PathOf("tokenizers/llama2")));
    private readonly Lazy<TextTokenizer> llama3 = new(() => TextTokenizer.FromDirectory(SharedData.PathOf("tokenizers/llama3")));

    public TextTokenizer Llama2 => llama2.Value;

    public TextTokenizer Llama3 => llama3.Value;

    public void Dispose()
    {
        if (llama2.IsValueCreated) llama2.Value.Dispose();
        if (llama3.IsValueCreated) llama3.Value.Dispose();
    }
}
