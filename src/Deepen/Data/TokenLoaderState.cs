using System.Text.Json;

namespace Deepen.Data;

/// <summary>
/// Where a <see cref="TokenShardLoader"/> is: the epoch (0-based; epoch e is shuffled with seed + e) and
/// the cursor (rows of that epoch's order already handed out, across all ranks). <see cref="RowCount"/>
/// and <see cref="Seed"/> identify the data and order it belongs to, so restoring it onto other data is
/// refused instead of silently continuing elsewhere. Every rank holds the same state.
/// </summary>
public sealed record TokenLoaderState(int Epoch, long Cursor, long RowCount, long Seed)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TokenLoaderState FromJson(string json)
    {
        try { return JsonSerializer.Deserialize<TokenLoaderState>(json, Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new DeepenException($"data loader state is not valid JSON ({e.Message}): {json}", e); }
    }
}
