using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Deepen.Tokenization;

/// <summary>Settings for <see cref="BpeTrainer.Train"/>.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>The most tokens, specials and the 256 byte tokens included.</summary>
    public int VocabSize { get; init; } = 4096;

    /// <summary>Merging stops when the most frequent pair occurs fewer times than this.</summary>
    public int MinFrequency { get; init; } = 2;

    /// <summary>Whether to add <c>&lt;unk&gt;</c> after <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;pad&gt;</c> (a byte-level vocabulary never needs it).</summary>
    public bool IncludeUnk { get; init; }
}

/// <summary>
/// Trains a byte-level BPE tokenizer: texts are split by <see cref="BpePreTokenizer"/> (digits one per piece,
/// so they are never merged), pieces are counted, and the most frequent adjacent pair (ties: smallest ids)
/// is merged until the vocabulary is full. Pair counts are updated incrementally around each merge, with a
/// lazily corrected max-heap, so a merge costs time proportional to the words that contain the pair.
/// Deterministic: the same texts and options give the same tokenizer.
/// </summary>
public static class BpeTrainer
{
    /// <summary>The special tokens a tokenizer trained with <paramref name="options"/> starts with, in id order.</summary>
    public static IReadOnlyList<string> SpecialTokens(BpeTrainerOptions options) =>
        options.IncludeUnk ? [BpeTokenizer.Bos, BpeTokenizer.Eos, BpeTokenizer.Pad, BpeTokenizer.Unk] : [BpeTokenizer.Bos, BpeTokenizer.Eos, BpeTokenizer.Pad];

    /// <summary>Trains on <paramref name="texts"/>; <paramref name="log"/> receives a few progress lines.</summary>
    public static BpeTokenizer Train(IEnumerable<string> texts, BpeTrainerOptions options, Action<string>? log = null)
    {
        var specials = SpecialTokens(options);
        int minVocab = specials.Count + 256;
        if (options.VocabSize < minVocab)
            throw DeepenException.BadSetting("vocab_size", $"{options.VocabSize}: expected at least {minVocab} ({specials.Count} special tokens + 256 byte tokens).");
        if (options.MinFrequency < 1) throw DeepenException.BadSetting("min_frequency", $"{options.MinFrequency}: expected at least 1.");

        var clock = Stopwatch.StartNew();
        var words = CountWords(texts, specials);
        log?.Invoke($"pre-tokenized into {words.Count:N0} distinct pieces in {clock.Elapsed.TotalSeconds:F1}s");

        var tokens = new List<string>(specials);
        for (int b = 0; b < 256; b++) tokens.Add(ByteLevel.ByteToChar[b].ToString());
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++) ids[tokens[i]] = i;

        var state = new MergeState(words, specials.Count);
        var merges = new List<(int, int)>();
        while (tokens.Count < options.VocabSize && state.TryTakeBestPair(options.MinFrequency, out int a, out int b))
        {
            string merged = tokens[a] + tokens[b];
            if (!ids.TryGetValue(merged, out int c))
            {
                c = tokens.Count;
                tokens.Add(merged);
                ids[merged] = c;
            }
            else if (c < specials.Count)
                throw new InvalidOperationException($"merge produced the special token '{merged}'; the pre-tokenizer should make this impossible");
            merges.Add((a, b));
            state.Merge(a, b, c);
            if (merges.Count % 1000 == 0) log?.Invoke($"{merges.Count} merges, vocabulary {tokens.Count}, {clock.Elapsed.TotalSeconds:F1}s");
        }
        log?.Invoke($"done: {merges.Count} merges, vocabulary {tokens.Count}, {clock.Elapsed.TotalSeconds:F1}s");
        return new BpeTokenizer(specials, tokens, merges);
    }

    /// <summary>Every distinct pre-token piece (special tokens excluded) with its count, in first-seen order.</summary>
    private static List<(byte[] Bytes, long Count)> CountWords(IEnumerable<string> texts, IReadOnlyList<string> specials)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        var pieces = new List<(int Start, int Length)>();
        foreach (var text in texts)
            foreach (var (start, length, special) in BpeTokenizer.SplitOnSpecialTokens(text, specials))
            {
                if (special >= 0) continue;
                pieces.Clear();
                var segment = text.AsSpan(start, length);
                BpePreTokenizer.Split(segment, pieces);
                foreach (var (s, n) in pieces)
                    CollectionsMarshal.GetValueRefOrAddDefault(lookup, segment.Slice(s, n), out _)++;
            }
        return counts.Select(kv => (Encoding.UTF8.GetBytes(kv.Key), kv.Value)).ToList();
    }

    /// <summary>The words as symbol sequences, the count of every adjacent pair, and where each pair occurs.</summary>
    private sealed class MergeState
    {
        private readonly int[][] _symbols;
        private readonly int[] _length;
        private readonly long[] _freq;
        private readonly Dictionary<long, long> _pairCount = [];
        private readonly Dictionary<long, List<int>> _where = [];
        private readonly HashSet<long> _grown = [];
        // Highest count first, then the smallest (left, right): the tie-break that makes training deterministic.
        private readonly PriorityQueue<long, (long Count, long Key)> _heap = new(Comparer<(long Count, long Key)>.Create(
            (x, y) => x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Key.CompareTo(y.Key)));

        public MergeState(List<(byte[] Bytes, long Count)> words, int firstByteId)
        {
            _symbols = new int[words.Count][];
            _length = new int[words.Count];
            _freq = new long[words.Count];
            for (int w = 0; w < words.Count; w++)
            {
                var (bytes, count) = words[w];
                _symbols[w] = bytes.Select(x => firstByteId + x).ToArray();
                _length[w] = bytes.Length;
                _freq[w] = count;
                for (int i = 0; i + 1 < bytes.Length; i++)
                {
                    long key = Key(_symbols[w][i], _symbols[w][i + 1]);
                    _pairCount[key] = _pairCount.GetValueOrDefault(key) + count;
                    Where(key).Add(w);
                }
            }
            foreach (var (key, count) in _pairCount) _heap.Enqueue(key, (count, key));
        }

        /// <summary>The most frequent pair, if it occurs at least <paramref name="minFrequency"/> times.</summary>
        public bool TryTakeBestPair(int minFrequency, out int left, out int right)
        {
            while (_heap.TryDequeue(out long key, out var queued))
            {
                long current = _pairCount.GetValueOrDefault(key);
                if (current != queued.Count)
                {
                    // Stale entry (the count fell since it was queued): requeue at the true count.
                    if (current > 0) _heap.Enqueue(key, (current, key));
                    continue;
                }
                if (current < minFrequency) break;
                (left, right) = ((int)(key >> 32), (int)(uint)key);
                return true;
            }
            (left, right) = (-1, -1);
            return false;
        }

        /// <summary>Replaces every (a, b) by <paramref name="c"/> in the words that hold it, updating the neighbouring pair counts.</summary>
        public void Merge(int a, int b, int c)
        {
            long pair = Key(a, b);
            _grown.Clear();
            foreach (int w in _where[pair])
            {
                var s = _symbols[w];
                int n = _length[w];
                long f = _freq[w];
                for (int i = 0; i + 1 < n; i++)
                {
                    if (s[i] != a || s[i + 1] != b) continue;
                    if (i > 0)
                    {
                        Add(Key(s[i - 1], a), -f);
                        Grow(Key(s[i - 1], c), f, w);
                    }
                    if (i + 2 < n)
                    {
                        Add(Key(b, s[i + 2]), -f);
                        Grow(Key(c, s[i + 2]), f, w);
                    }
                    s[i] = c;
                    Array.Copy(s, i + 2, s, i + 1, n - i - 2);
                    n--;
                }
                _length[w] = n;
            }
            _pairCount.Remove(pair);
            _where.Remove(pair);
            foreach (long key in _grown)
                if (_pairCount.GetValueOrDefault(key) is var count and > 0) _heap.Enqueue(key, (count, key));
        }

        private void Add(long key, long delta) => CollectionsMarshal.GetValueRefOrAddDefault(_pairCount, key, out _) += delta;

        private void Grow(long key, long delta, int word)
        {
            Add(key, delta);
            _grown.Add(key);
            Where(key).Add(word);
        }

        private List<int> Where(long key)
        {
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(_where, key, out _);
            return list ??= [];
        }

        private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
    }
}
