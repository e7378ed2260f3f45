using System.Text.Json.Nodes;
using Deepen.Inference;
using Deepen.Tokenization;

namespace Deepen.Tests.Inference;

/// <summary>
/// Chat formats against jinja2's rendering of the real templates (tests/fixtures/inference/chat_templates.py):
/// each template is recognised and rendered identically; unknown templates fall back to plain with a notice;
/// unknown names and roles are clear errors; the prompt is encoded without extra special tokens.
/// </summary>
public class ChatFormatTests
{
    private static readonly JsonNode Fixture =
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "inference", "chat_templates.json")))!;

    public static TheoryData<string> Names => new() { "llama3", "zephyr", "plain" };

    [Theory]
    [MemberData(nameof(Names))]
    public void RecognisedTemplatesRenderAsJinjaDoes(string name)
    {
        var format = ChatFormat.Detect(Fixture["templates"]![name]!.GetValue<string>());
        Assert.Equal(name, format.ToString());
        Assert.Null(format.Notice);
        var specials = Fixture["specials"]![name]!.AsArray();
        foreach (var c in Fixture["cases"]!.AsArray())
        {
            var messages = c!["messages"]!.AsArray().Select(m => new ChatMessage(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>())).ToList();
            var text = format.Render(messages, c["add_generation_prompt"]!.GetValue<bool>(), specials[0]!.GetValue<string>(), specials[1]!.GetValue<string>());
            Assert.Equal(c["expected"]![name]!.GetValue<string>(), text);
        }
    }

    [Fact]
    public void UnknownTemplatesFallBackToPlainWithANotice()
    {
        var chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}";
        var f = ChatFormat.Detect(chatml);
        Assert.Equal(ChatTemplateKind.Plain, f.Kind);
        Assert.Contains("--chat-template", f.Notice);
        Assert.NotNull(ChatFormat.Detect(null).Notice);
    }

    [Fact]
    public void NamesOverrideAndUnknownNamesAreErrors()
    {
        Assert.Equal(ChatTemplateKind.Zephyr, ChatFormat.Named("zephyr").Kind);
        Assert.Equal(ChatTemplateKind.Llama3, ChatFormat.Named("Llama3").Kind);
        var e = Assert.Throws<DeepenException>(() => ChatFormat.Named("chatml"));
        Assert.Contains("unknown chat template", e.Message);
        Assert.Contains("llama3, zephyr, plain", e.Message);
    }

    [Fact]
    public void UnknownRolesAreErrors()
    {
        var e = Assert.Throws<DeepenException>(() => ChatFormat.Named("plain").Render([new("tool", "x")], true, "<s>", "</s>"));
        Assert.Contains("role 'tool'", e.Message);
    }

    [Fact]
    public void Llama3PromptsEncodeOneBosAndStopAtEndOfTurn()
    {
        using var files = new TinyTextModel(chatTemplate: Fixture["templates"]!["llama3"]!.GetValue<string>(),
            extraSpecials: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]);
        using var tok = TextTokenizer.FromDirectory(files.Dir);
        var format = ChatFormat.For(tok);
        Assert.Equal(ChatTemplateKind.Llama3, format.Kind);
        var ids = format.Encode(tok, [new("user", "hi")]);
        Assert.Equal(tok.BosId, ids[0]);
        Assert.Equal(1, ids.Count(i => i == tok.BosId));
        Assert.Equal([tok.TokenToId("<|eot_id|>")!.Value], format.StopTokenIds(tok));
        Assert.Contains(tok.TokenToId("<|start_header_id|>")!.Value, ids);
    }
}
