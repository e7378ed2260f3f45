using System.Text.Json;
using System.Text.Json.Nodes;
using Deepen.Inference;
using Deepen.Models;

namespace Deepen.Server;

/// <summary>A request the server refuses with HTTP 400 (or another 4xx status) and a JSON error naming the parameter.</summary>
public sealed class BadRequestException(string message, string? param = null, int status = 400) : Exception(message)
{
    /// <summary>The offending parameter, when there is one.</summary>
    public string? Param { get; } = param;

    /// <summary>The HTTP status to answer with.</summary>
    public int Status { get; } = status;
}

/// <summary>A prompt as sent: text, or token ids.</summary>
public sealed record PromptInput(string? Text, int[]? Ids);

/// <summary>The sampling and length fields common to both endpoints.</summary>
public sealed record CommonFields(
    int? MaxTokens, SamplingOptions Sampling, long? Seed, IReadOnlyList<string> Stop, bool Stream, int? Recurrence, ExitCriterion? Adaptive);

/// <summary>A parsed <c>POST /v1/completions</c> body.</summary>
public sealed record CompletionRequest(IReadOnlyList<PromptInput> Prompts, CommonFields Common, bool Echo, int? LogProbs);

/// <summary>A parsed <c>POST /v1/chat/completions</c> body.</summary>
public sealed record ChatRequest(IReadOnlyList<ChatMessage> Messages, CommonFields Common);

/// <summary>
/// Reads OpenAI request bodies into typed requests, refusing anything malformed with a <see cref="BadRequestException"/>
/// that names the parameter. Fields Deepen does not use (<c>model</c>, <c>user</c>, penalties, ...) are ignored; the
/// extensions <c>top_k</c>, <c>min_p</c>, <c>repetition_penalty</c>, <c>recurrence</c> and <c>adaptive</c> are read.
/// </summary>
public static class OpenAiRequest
{
    /// <summary>The body as a JSON object.</summary>
    public static JsonObject ParseBody(string body)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }   // a key given twice is a 400, not a crash later
        catch (JsonException e) { throw new BadRequestException($"the request body is not valid JSON: {e.Message}"); }
        return node as JsonObject ?? throw new BadRequestException("the request body must be a JSON object.");
    }

    /// <summary>Reads a completions request.</summary>
    public static CompletionRequest Completion(JsonObject j)
    {
        var prompts = Prompts(j["prompt"] ?? throw new BadRequestException("'prompt' is required.", "prompt"));
        bool echo = Bool(j, "echo") ?? false;
        int? logprobs = Int(j, "logprobs", 0, 20);
        return new CompletionRequest(prompts, Common(j), echo, logprobs);
    }

    /// <summary>Reads a chat completions request.</summary>
    public static ChatRequest Chat(JsonObject j)
    {
        if (j["messages"] is not JsonArray { Count: > 0 } array)
            throw new BadRequestException("'messages' must be a non-empty array of {role, content} objects.", "messages");
        var messages = new List<ChatMessage>();
        foreach (var (m, i) in array.Select((m, i) => (m, i)))
        {
            if (m is not JsonObject o || o["role"] is not JsonValue role || role.GetValueKind() != JsonValueKind.String)
                throw new BadRequestException($"messages[{i}] must be an object with a string 'role'.", "messages");
            var r = role.GetValue<string>();
            if (r is not ("system" or "user" or "assistant"))
                throw new BadRequestException($"messages[{i}].role '{r}': expected system, user or assistant.", "messages");
            messages.Add(new ChatMessage(r, Content(o["content"], i)));
        }
        return new ChatRequest(messages, Common(j));
    }

    private static string Content(JsonNode? content, int i) => content switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p =>
            p is JsonObject po && po["type"]?.GetValue<string>() == "text" && po["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String
                ? t.GetValue<string>()
                : throw new BadRequestException($"messages[{i}].content: only text parts are supported.", "messages"))),
        _ => throw new BadRequestException($"messages[{i}].content must be a string.", "messages"),
    };

    private static CommonFields Common(JsonObject j)
    {
        if (Int(j, "n", 1, int.MaxValue) is > 1) throw new BadRequestException("n > 1 is not supported.", "n");
        int? maxTokens = Int(j, "max_completion_tokens", 0, int.MaxValue) ?? Int(j, "max_tokens", 0, int.MaxValue);
        var sampling = new SamplingOptions
        {
            Temperature = Double(j, "temperature") ?? 1.0,
            TopP = Double(j, "top_p") ?? 1.0,
            TopK = Int(j, "top_k", -1, int.MaxValue) is int k && k > 0 ? k : 0,   // vLLM uses -1 for off
            MinP = Double(j, "min_p") ?? 0.0,
            RepetitionPenalty = Double(j, "repetition_penalty") ?? 1.0,
        };
        try { sampling.Validate(); }
        catch (DeepenException e) { throw new BadRequestException(e.Message, e.Message.Split(' ')[0].Replace('-', '_')); }
        long? seed = j["seed"] is null ? null : Long(j, "seed");
        var stop = j["stop"] switch
        {
            null => [],
            JsonValue v when v.GetValueKind() == JsonValueKind.String => [v.GetValue<string>()],
            JsonArray a => a.Select(x => x is JsonValue sv && sv.GetValueKind() == JsonValueKind.String
                ? sv.GetValue<string>() : throw new BadRequestException("'stop' must be a string or an array of strings.", "stop")).ToList(),
            _ => throw new BadRequestException("'stop' must be a string or an array of strings.", "stop"),
        };
        ExitCriterion? adaptive = null;
        if (j["adaptive"] is JsonValue av && av.GetValueKind() == JsonValueKind.String)
        {
            try { adaptive = ExitCriterion.Parse(av.GetValue<string>()); }
            catch (DeepenException e) { throw new BadRequestException(e.Message, "adaptive"); }
        }
        else if (j["adaptive"] is not null) throw new BadRequestException("'adaptive' must be a string such as \"kl:5e-4\".", "adaptive");
        return new CommonFields(maxTokens, sampling, seed, stop, Bool(j, "stream") ?? false, Int(j, "recurrence", 1, 4096), adaptive);
    }

    private static IReadOnlyList<PromptInput> Prompts(JsonNode prompt)
    {
        const string Shape = "'prompt' must be a string, an array of strings, an array of token ids, or an array of arrays of token ids.";
        switch (prompt)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return [new PromptInput(v.GetValue<string>(), null)];
            case JsonArray { Count: 0 }:
                throw new BadRequestException("'prompt' is empty.", "prompt");
            case JsonArray a when a.All(x => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.Number):
                return [new PromptInput(null, Ids(a))];
            case JsonArray a:
                return a.Select(x => x switch
                {
                    JsonValue xv when xv.GetValueKind() == JsonValueKind.String => new PromptInput(xv.GetValue<string>(), null),
                    JsonArray ids when ids.All(y => y is JsonValue yv && yv.GetValueKind() == JsonValueKind.Number) => new PromptInput(null, Ids(ids)),
                    _ => throw new BadRequestException(Shape, "prompt"),
                }).ToList();
            default:
                throw new BadRequestException(Shape, "prompt");
        }
    }

    private static int[] Ids(JsonArray a) => a.Select(x =>
        x!.AsValue().TryGetValue(out int id) ? id : throw new BadRequestException("token ids in 'prompt' must be integers.", "prompt")).ToArray();

    private static bool? Bool(JsonObject j, string name) => j[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw new BadRequestException($"'{name}' must be true or false.", name),
    };

    private static int? Int(JsonObject j, string name, int min, int max)
    {
        if (j[name] is null) return null;
        if (j[name] is JsonValue v && v.TryGetValue(out int x) && x >= min && x <= max) return x;
        if (j[name] is JsonValue d && d.TryGetValue(out double f) && f == Math.Floor(f) && f >= min && f <= max) return (int)f;
        throw new BadRequestException($"'{name}' must be an integer in [{min}, {(max == int.MaxValue ? "∞" : max)}].", name);
    }

    private static long Long(JsonObject j, string name) =>
        j[name] is JsonValue v && v.TryGetValue(out long x) ? x : throw new BadRequestException($"'{name}' must be an integer.", name);

    private static double? Double(JsonObject j, string name)
    {
        if (j[name] is null) return null;
        if (j[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double x)) return x;
        throw new BadRequestException($"'{name}' must be a number.", name);
    }
}
