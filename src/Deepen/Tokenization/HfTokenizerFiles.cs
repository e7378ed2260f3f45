using System.Text.Encodings.Web;
using System.Text.Json;
using Deepen.Checkpoints;

namespace Deepen.Tokenization;

/// <summary>Settings of the HF tokenizer files written for a trained tokenizer.</summary>
public sealed record HfTokenizerFileOptions
{
    /// <summary><c>model_max_length</c> in <c>tokenizer_config.json</c>.</summary>
    public int ModelMaxLength { get; init; } = 2048;

    /// <summary>The Jinja chat template (User:/Assistant: turns, each assistant turn closed by <c>&lt;/s&gt;</c>).</summary>
    public string ChatTemplate { get; init; } = HfTokenizerFiles.DefaultChatTemplate;
}

/// <summary>
/// Writes a <see cref="BpeTokenizer"/> as the HF tokenizer files a model directory carries, loadable by HF's
/// Rust tokenizers (and so Tokenizers.DotNet) and transformers: <c>tokenizer.json</c> (BPE model with vocab and
/// merges; pre-tokenizer Sequence[Split \p{N} Isolated, ByteLevel]; ByteLevel decoder; a TemplateProcessing
/// post-processor that prepends <c>&lt;s&gt;</c>, as Llama's does), <c>tokenizer_config.json</c> and
/// <c>special_tokens_map.json</c>. Output is byte-identical for the same tokenizer.
/// </summary>
public static class HfTokenizerFiles
{
    /// <summary>A plain chat template: an optional system line, then "User: ..." and "Assistant: ...&lt;/s&gt;" turns.</summary>
    public const string DefaultChatTemplate =
        "{{ bos_token }}{% for message in messages %}" +
        "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}" +
        "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\\n' }}" +
        "{% else %}{{ 'Assistant: ' + message['content'] + eos_token + '\\n' }}{% endif %}" +
        "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the three files into <paramref name="directory"/> (created if needed), each via a temporary file.</summary>
    public static void Save(BpeTokenizer tokenizer, string directory, HfTokenizerFileOptions? options = null)
    {
        options ??= new HfTokenizerFileOptions();
        Directory.CreateDirectory(directory);
        WriteAtomically(Path.Combine(directory, "tokenizer.json"), w => WriteTokenizerJson(tokenizer, w));
        WriteAtomically(Path.Combine(directory, "tokenizer_config.json"), w => WriteTokenizerConfig(tokenizer, options, w));
        WriteAtomically(Path.Combine(directory, "special_tokens_map.json"), w => WriteSpecialTokensMap(tokenizer, w));
    }

    /// <summary>The <c>tokenizer.json</c> document (HF tokenizers format, version 1.0).</summary>
    public static void WriteTokenizerJson(BpeTokenizer tokenizer, Utf8JsonWriter w)
    {
        string bos = BpeTokenizer.Bos;
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        for (int id = 0; id < tokenizer.SpecialTokens.Count; id++)
        {
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", tokenizer.SpecialTokens[id]);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("normalizer");

        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        w.WriteString("Regex", @"\p{N}");
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
        WriteByteLevel(w, addPrefixSpace: false);
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("post_processor");
        w.WriteString("type", "TemplateProcessing");
        w.WriteStartArray("single");
        WriteTemplatePiece(w, "SpecialToken", bos, 0);
        WriteTemplatePiece(w, "Sequence", "A", 0);
        w.WriteEndArray();
        w.WriteStartArray("pair");
        WriteTemplatePiece(w, "SpecialToken", bos, 0);
        WriteTemplatePiece(w, "Sequence", "A", 0);
        WriteTemplatePiece(w, "SpecialToken", bos, 1);
        WriteTemplatePiece(w, "Sequence", "B", 1);
        w.WriteEndArray();
        w.WriteStartObject("special_tokens");
        w.WriteStartObject(bos);
        w.WriteString("id", bos);
        w.WriteStartArray("ids");
        w.WriteNumberValue(tokenizer.BosId);
        w.WriteEndArray();
        w.WriteStartArray("tokens");
        w.WriteStringValue(bos);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();

        w.WritePropertyName("decoder");
        WriteByteLevel(w, addPrefixSpace: true);

        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        if (tokenizer.UnkId is { } unk) w.WriteString("unk_token", tokenizer.TokenString(unk)); else w.WriteNull("unk_token");
        w.WriteNull("continuing_subword_prefix");
        w.WriteNull("end_of_word_suffix");
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteBoolean("ignore_merges", false);
        w.WriteStartObject("vocab");
        for (int id = 0; id < tokenizer.VocabSize; id++) w.WriteNumber(tokenizer.TokenString(id), id);
        w.WriteEndObject();
        w.WriteStartArray("merges");
        // "left right" strings (the format every tokenizers version reads); byte-level tokens never hold a space.
        foreach (var (left, right) in tokenizer.Merges)
            w.WriteStringValue(tokenizer.TokenString(left) + " " + tokenizer.TokenString(right));
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteByteLevel(Utf8JsonWriter w, bool addPrefixSpace)
    {
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", true);
        w.WriteEndObject();
    }

    private static void WriteTemplatePiece(Utf8JsonWriter w, string kind, string id, int typeId)
    {
        w.WriteStartObject();
        w.WriteStartObject(kind);
        w.WriteString("id", id);
        w.WriteNumber("type_id", typeId);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteTokenizerConfig(BpeTokenizer tokenizer, HfTokenizerFileOptions options, Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteBoolean("add_bos_token", true);
        w.WriteBoolean("add_eos_token", false);
        w.WriteStartObject("added_tokens_decoder");
        for (int id = 0; id < tokenizer.SpecialTokens.Count; id++)
        {
            w.WriteStartObject(id.ToString());
            w.WriteString("content", tokenizer.SpecialTokens[id]);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteString("bos_token", BpeTokenizer.Bos);
        w.WriteString("chat_template", options.ChatTemplate);
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        w.WriteString("eos_token", BpeTokenizer.Eos);
        w.WriteNumber("model_max_length", options.ModelMaxLength);
        if (tokenizer.PadId is { } pad) w.WriteString("pad_token", tokenizer.TokenString(pad));
        w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
        if (tokenizer.UnkId is { } unk) w.WriteString("unk_token", tokenizer.TokenString(unk));
        w.WriteEndObject();
    }

    private static void WriteSpecialTokensMap(BpeTokenizer tokenizer, Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("bos_token", BpeTokenizer.Bos);
        w.WriteString("eos_token", BpeTokenizer.Eos);
        if (tokenizer.PadId is { } pad) w.WriteString("pad_token", tokenizer.TokenString(pad));
        if (tokenizer.UnkId is { } unk) w.WriteString("unk_token", tokenizer.TokenString(unk));
        w.WriteEndObject();
    }

    private static void WriteAtomically(string path, Action<Utf8JsonWriter> write) => AtomicFile.Write(path, tmp =>
    {
        using var stream = File.Create(tmp);
        using var writer = new Utf8JsonWriter(stream, Indented);
        write(writer);
        writer.Flush();
        stream.WriteByte((byte)'\n');
    });
}
