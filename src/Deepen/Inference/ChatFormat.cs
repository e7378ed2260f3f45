using System.Text;
using Deepen.Tokenization;

namespace Deepen.Inference;

/// <summary>One chat message: role <c>system</c>, <c>user</c> or <c>assistant</c>, and its text.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>The chat formats Deepen renders itself.</summary>
public enum ChatTemplateKind
{
    /// <summary>Llama-3 instruct: <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c>.</summary>
    Llama3,
    /// <summary>Zephyr / TinyLlama-chat: <c>&lt;|user|&gt;\ncontent&lt;/s&gt;\n</c> ... <c>&lt;|assistant|&gt;\n</c>.</summary>
    Zephyr,
    /// <summary>Plain turns: an optional system paragraph, <c>User: ...</c>, <c>Assistant: ...&lt;/s&gt;</c> (Deepen's own template).</summary>
    Plain,
}

/// <summary>
/// A model's chat format. Chat templates are Jinja in tokenizer_config.json; Deepen does not run Jinja but
/// recognises the Llama-3 and Zephyr templates by their markers and renders them in C#, exactly as transformers'
/// <c>apply_chat_template</c> (trim_blocks) would. Anything else falls back to <see cref="ChatTemplateKind.Plain"/>
/// with a <see cref="Notice"/>.
/// </summary>
public sealed class ChatFormat
{
    private ChatFormat(ChatTemplateKind kind, string? notice) { Kind = kind; Notice = notice; }

    /// <summary>The format.</summary>
    public ChatTemplateKind Kind { get; }

    /// <summary>Why the plain format was chosen when the model's template was missing or not recognised; null otherwise.</summary>
    public string? Notice { get; }

    /// <summary>Names accepted by <see cref="Named"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["llama3", "zephyr", "plain"];

    /// <summary>The format named <c>llama3</c>, <c>zephyr</c> or <c>plain</c>.</summary>
    /// <exception cref="DeepenException">Any other name.</exception>
    public static ChatFormat Named(string name) => name.Trim().ToLowerInvariant() switch
    {
        "llama3" or "llama-3" => new(ChatTemplateKind.Llama3, null),
        "zephyr" or "tinyllama" => new(ChatTemplateKind.Zephyr, null),
        "plain" => new(ChatTemplateKind.Plain, null),
        _ => throw DeepenException.BadSetting("chat_template", $"'{name}': unknown chat template; expected one of {string.Join(", ", Names)}."),
    };

    /// <summary>Recognises a Jinja chat template by its markers.</summary>
    public static ChatFormat Detect(string? jinja)
    {
        if (string.IsNullOrWhiteSpace(jinja))
            return new(ChatTemplateKind.Plain, "the model has no chat template; using the plain 'User:/Assistant:' format.");
        if (jinja.Contains("<|start_header_id|>", StringComparison.Ordinal) && jinja.Contains("<|eot_id|>", StringComparison.Ordinal))
            return new(ChatTemplateKind.Llama3, null);
        if (jinja.Contains("<|user|>", StringComparison.Ordinal) && jinja.Contains("<|assistant|>", StringComparison.Ordinal))
            return new(ChatTemplateKind.Zephyr, null);
        if (jinja == HfTokenizerFiles.DefaultChatTemplate) return new(ChatTemplateKind.Plain, null);
        return new(ChatTemplateKind.Plain,
            "the model's chat template is neither Llama-3 nor Zephyr style (Deepen does not run Jinja); using the plain "
            + "'User:/Assistant:' format. Pass --chat-template llama3|zephyr|plain to choose one.");
    }

    /// <summary>The format for <paramref name="tokenizer"/>'s template, or the one named by <paramref name="overrideName"/>.</summary>
    public static ChatFormat For(TextTokenizer tokenizer, string? overrideName = null) =>
        overrideName is null ? Detect(tokenizer.ChatTemplate) : Named(overrideName);

    /// <summary>
    /// The prompt text for <paramref name="messages"/>, with the assistant header appended when
    /// <paramref name="addGenerationPrompt"/>. <paramref name="bos"/> and <paramref name="eos"/> are the tokenizer's
    /// special token strings (the templates' <c>bos_token</c>, <c>eos_token</c>).
    /// </summary>
    /// <exception cref="DeepenException">A role other than system, user or assistant.</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, string? bos, string? eos)
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
            if (m.Role is not ("system" or "user" or "assistant"))
                throw new DeepenException($"chat message role '{m.Role}': expected system, user or assistant.");
        switch (Kind)
        {
            case ChatTemplateKind.Llama3:
                if (messages.Count > 0) sb.Append(bos);
                foreach (var m in messages)
                    sb.Append("<|start_header_id|>").Append(m.Role).Append("<|end_header_id|>\n\n").Append(m.Content.Trim()).Append("<|eot_id|>");
                if (addGenerationPrompt) sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                break;
            case ChatTemplateKind.Zephyr:
                foreach (var m in messages) sb.Append("<|").Append(m.Role).Append("|>\n").Append(m.Content).Append(eos).Append('\n');
                if (addGenerationPrompt && messages.Count > 0) sb.Append("<|assistant|>\n");
                break;
            default:
                sb.Append(bos);
                foreach (var m in messages)
                    sb.Append(m.Role switch
                    {
                        "system" => m.Content + "\n\n",
                        "user" => "User: " + m.Content + "\n",
                        _ => "Assistant: " + m.Content + eos + "\n",
                    });
                if (addGenerationPrompt) sb.Append("Assistant:");
                break;
        }
        return sb.ToString();
    }

    /// <summary>Token ids of the rendered prompt (the template supplies any BOS; no special tokens are added).</summary>
    public int[] Encode(TextTokenizer tokenizer, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true) =>
        tokenizer.Encode(Render(messages, addGenerationPrompt, tokenizer.BosToken, tokenizer.EosToken), addSpecialTokens: false);

    /// <summary>Ids that end an assistant turn besides EOS: Llama-3's <c>&lt;|eot_id|&gt;</c> when the vocabulary has it.</summary>
    public IReadOnlyList<int> StopTokenIds(TextTokenizer tokenizer) =>
        Kind == ChatTemplateKind.Llama3 && tokenizer.TokenToId("<|eot_id|>") is int eot ? [eot] : [];

    /// <summary>Strings that end an assistant turn: the plain format's next user turn.</summary>
    public IReadOnlyList<string> StopStrings => Kind == ChatTemplateKind.Plain ? ["\nUser:"] : [];

    /// <summary>A user-facing name: llama3, zephyr or plain.</summary>
    public override string ToString() => Kind switch { ChatTemplateKind.Llama3 => "llama3", ChatTemplateKind.Zephyr => "zephyr", _ => "plain" };
}
