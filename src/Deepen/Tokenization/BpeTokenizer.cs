using System.Text;

namespace Deepen.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer as trained by <see cref="BpeTrainer"/>: special tokens first (ids 0..S−1), the
/// 256 byte tokens next, then one token per merge. Encodes exactly as HF's tokenizers encode the
/// <c>tokenizer.json</c> that <see cref="HfTokenizerFiles"/> writes for it (added special tokens matched
/// first, <see cref="BpePreTokenizer"/>, merges applied lowest rank first, leftmost first), and prepends
/// <c>&lt;s&gt;</c> when asked for special tokens. Not thread-safe (it caches pieces).
/// </summary>
public sealed class BpeTokenizer
{
    /// <summary>Beginning-of-sequence token.</summary>
    public const string Bos = "<s>";
    /// <summary>End-of-sequence token.</summary>
    public const string Eos = "</s>";
    /// <summary>Padding token.</summary>
    public const string Pad = "<pad>";
    /// <summary>Unknown token (optional: a byte-level vocabulary never needs it).</summary>
    public const string Unk = "<unk>";

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges = [];
    private readonly int[] _byteIds = new int[256];
    private readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <summary>
    /// A tokenizer from its token strings in id order (specials, then the 256 byte tokens, then merged tokens)
    /// and its merges in rank order, each naming the ids of its left and right parts.
    /// </summary>
    public BpeTokenizer(IReadOnlyList<string> specialTokens, IReadOnlyList<string> tokens, IReadOnlyList<(int Left, int Right)> merges)
    {
        if (!specialTokens.SequenceEqual(tokens.Take(specialTokens.Count)))
            throw new ArgumentException("the vocabulary must start with the special tokens", nameof(tokens));
        if (!specialTokens.Contains(Bos) || !specialTokens.Contains(Eos))
            throw new ArgumentException($"the special tokens must include {Bos} and {Eos}", nameof(specialTokens));
        SpecialTokens = [.. specialTokens];
        _tokens = [.. tokens];
        _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int id = 0; id < _tokens.Length; id++)
            if (!_ids.TryAdd(_tokens[id], id)) throw new ArgumentException($"token '{_tokens[id]}' appears twice", nameof(tokens));
        for (int b = 0; b < 256; b++)
            _byteIds[b] = _ids.TryGetValue(ByteLevel.ByteToChar[b].ToString(), out int id) ? id
                : throw new ArgumentException($"byte token for 0x{b:X2} is missing", nameof(tokens));
        Merges = [.. merges];
        for (int rank = 0; rank < Merges.Count; rank++)
        {
            var (l, r) = Merges[rank];
            if (!_ids.TryGetValue(_tokens[l] + _tokens[r], out int merged))
                throw new ArgumentException($"merge {rank} ('{_tokens[l]}' '{_tokens[r]}') has no token", nameof(merges));
            _merges.TryAdd(PairKey(l, r), (rank, merged));
        }
    }

    /// <summary>The special tokens, in id order (their ids are 0..Count−1).</summary>
    public IReadOnlyList<string> SpecialTokens { get; }

    /// <summary>The merges in rank order, as ids of the left and right parts.</summary>
    public IReadOnlyList<(int Left, int Right)> Merges { get; }

    /// <summary>The number of tokens, specials included.</summary>
    public int VocabSize => _tokens.Length;

    /// <summary>Id of <c>&lt;s&gt;</c>.</summary>
    public int BosId => _ids[Bos];

    /// <summary>Id of <c>&lt;/s&gt;</c>.</summary>
    public int EosId => _ids[Eos];

    /// <summary>Id of <c>&lt;pad&gt;</c>, when present.</summary>
    public int? PadId => _ids.TryGetValue(Pad, out int id) && id < SpecialTokens.Count ? id : null;

    /// <summary>Id of <c>&lt;unk&gt;</c>, when present.</summary>
    public int? UnkId => _ids.TryGetValue(Unk, out int id) && id < SpecialTokens.Count ? id : null;

    /// <summary>The token string of an id (byte-level characters, e.g. "Ġthe").</summary>
    public string TokenString(int id) => _tokens[id];

    /// <summary>The token strings in id order.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The ids of <paramref name="text"/>, with <c>&lt;s&gt;</c> first when <paramref name="addSpecialTokens"/>.</summary>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = new List<int>(text.Length / 3 + 2);
        if (addSpecialTokens) ids.Add(BosId);
        var pieces = new List<(int Start, int Length)>();
        foreach (var (start, length, special) in SplitOnSpecialTokens(text, SpecialTokens))
        {
            if (special >= 0) { ids.Add(special); continue; }
            pieces.Clear();
            BpePreTokenizer.Split(text.AsSpan(start, length), pieces);
            foreach (var (s, n) in pieces) ids.AddRange(EncodePiece(text.Substring(start + s, n)));
        }
        return [.. ids];
    }

    /// <summary>The text of <paramref name="ids"/> (invalid UTF-8 becomes U+FFFD, as in HF), skipping special tokens if asked.</summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = true)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id < 0 || id >= _tokens.Length) throw new ArgumentOutOfRangeException(nameof(ids), id, $"ids must be in [0, {_tokens.Length})");
            if (id < SpecialTokens.Count)
            {
                if (skipSpecialTokens) continue;
                Flush();
                text.Append(_tokens[id]);
                continue;
            }
            ByteLevel.TryDecode(_tokens[id], bytes);
        }
        Flush();
        return text.ToString();

        void Flush()
        {
            text.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
    }

    /// <summary>
    /// Splits text around occurrences of the special tokens (leftmost, longest first), as HF does for added
    /// tokens before pre-tokenization. Yields (start, length, special id or −1).
    /// </summary>
    public static IEnumerable<(int Start, int Length, int Special)> SplitOnSpecialTokens(string text, IReadOnlyList<string> specials)
    {
        var byLength = specials.Select((s, id) => (s, id)).OrderByDescending(x => x.s.Length).ThenBy(x => x.id).ToArray();
        int start = 0;
        for (int i = 0; i < text.Length;)
        {
            int match = -1;
            foreach (var (s, id) in byLength)
                if (i + s.Length <= text.Length && text[i] == s[0] && string.CompareOrdinal(text, i, s, 0, s.Length) == 0) { match = id; break; }
            if (match < 0) { i++; continue; }
            if (i > start) yield return (start, i - start, -1);
            yield return (i, specials[match].Length, match);
            i += specials[match].Length;
            start = i;
        }
        if (start < text.Length) yield return (start, text.Length - start, -1);
    }

    private static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>BPE on one pre-token: HF's algorithm (a queue of candidate merges by rank, then position).</summary>
    private int[] EncodePiece(string piece)
    {
        if (_cache.TryGetValue(piece, out var cached)) return cached;
        var bytes = Encoding.UTF8.GetBytes(piece);
        int n = bytes.Length;
        if (n == 0) return [];
        var sym = new int[n];
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++) { sym[i] = _byteIds[bytes[i]]; prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = true; }

        var queue = new PriorityQueue<(int Pos, int NewId), (int Rank, int Pos)>();
        void Offer(int pos)
        {
            int right = next[pos];
            if (right >= 0 && _merges.TryGetValue(PairKey(sym[pos], sym[right]), out var m)) queue.Enqueue((pos, m.NewId), (m.Rank, pos));
        }
        for (int i = 0; i + 1 < n; i++) Offer(i);
        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos, right = next[pos];
            if (!alive[pos] || right < 0) continue;
            if (!_merges.TryGetValue(PairKey(sym[pos], sym[right]), out var m) || m.NewId != top.NewId) continue;   // stale
            sym[pos] = top.NewId;
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) Offer(prev[pos]);
            Offer(pos);
        }
        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(sym[i]);
        var ids = result.ToArray();
        if (_cache.Count > 200_000) _cache.Clear();
        _cache[piece] = ids;
        return ids;
    }
}
