using System.Text;
using Deepen.Data;
using Deepen.Tokenization;
using HfTokenizer = Tokenizers.DotNet.Tokenizer;

namespace Deepen.Tests.Tokenization;

/// <summary>
/// The BPE trainer and its HF files: HF's Rust tokenizers (through Tokenizers.DotNet, the code path that
/// loads a real model's tokenizer.json) encode exactly as the C# encoder and decode back to the text;
/// digits are never merged; the incremental merge loop equals a naive recount; output is deterministic.
/// </summary>
public class BpeTokenizerTests
{
    private static readonly string[] Samples =
    [
        "12345",
        "Mia has 12 apples. She buys 7 more, then gives away a third of them.",
        "Hello, world! It's 3.14159 o'clock; don't panic: I'll call. WE'VE won?!",
        "café naïve façade — «quoted» “curly” 日本語のテキスト 😀🚀 emoji",
        "tabs\tand\nnewlines\n\n  double  spaces   and trailing   ",
        " leading space and a lone\r\nCRLF",
        "fractions ½ ² ٣ Ⅻ and x²+y² = 10,000.50$!!!",
        "no\u00A0break and ideographic\u3000space and em\u2003space",
        "'s 're 'S \"quotes\" (parens) [brackets] {braces} a  1  b 2x3",
        "<s> literal special tokens </s> and <pad> in text",
        "",
    ];

    private static List<string> Corpus()
    {
        var texts = SyntheticMath.Generate(new SyntheticMathOptions { Count = 300, Seed = 1 })
            .Select(p => p.Question + "\n" + p.Answer + "\n").ToList();
        texts.Add(string.Join("\n", Samples));
        texts.Add("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. " +
                  "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and nothing particular to interest me on shore.");
        return texts;
    }

    private static BpeTokenizer Train(int vocabSize = 600) =>
        BpeTrainer.Train(Corpus(), new BpeTrainerOptions { VocabSize = vocabSize });

    [Fact]
    public void HfTokenizersLoadTheSavedFileAndEncodeExactlyAsTheCSharpEncoder()
    {
        var tokenizer = Train();
        using var dir = new TestPaths.TempDir();
        HfTokenizerFiles.Save(tokenizer, dir.Path);
        using var hf = new HfTokenizer(vocabPath: dir["tokenizer.json"]);
        foreach (var text in Samples)
        {
            int[] mine = tokenizer.Encode(text);
            uint[] theirs = hf.Encode(text);
            Assert.True(mine.Select(i => (uint)i).SequenceEqual(theirs),
                $"'{text}': C# [{string.Join(",", mine)}] vs HF [{string.Join(",", theirs)}]");
            Assert.Equal(tokenizer.BosId, mine[0]);   // the post-processor adds <s>, like Llama's
            if (!text.Contains('<'))
            {
                Assert.Equal(text, hf.Decode(theirs));
                Assert.Equal(text, tokenizer.Decode(mine));
            }
        }
    }

    [Fact]
    public void HfTokenizersAgreeAcrossUnicode()
    {
        // Every 7th code point up to U+2FFFF (letters, numbers, marks, spaces, controls, unassigned, astral),
        // in chunks, with spaces sprinkled in: the pre-tokenizer's character classes must match HF's regexes.
        var tokenizer = Train();
        using var dir = new TestPaths.TempDir();
        HfTokenizerFiles.Save(tokenizer, dir.Path);
        using var hf = new HfTokenizer(vocabPath: dir["tokenizer.json"]);
        var chunk = new StringBuilder();
        for (int cp = 1; cp < 0x30000; cp += 7)
        {
            if (cp is >= 0xD800 and < 0xE000) continue;
            chunk.Append(char.ConvertFromUtf32(cp));
            if (cp % 5 == 0) chunk.Append(' ');
            if (cp % 11 == 0) chunk.Append("  ");
            if (chunk.Length < 2000 && cp + 7 < 0x30000) continue;
            var text = chunk.ToString();
            chunk.Clear();
            uint[] theirs = hf.Encode(text);
            Assert.True(tokenizer.Encode(text).Select(i => (uint)i).SequenceEqual(theirs), $"ids differ on code points up to U+{cp:X}");
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void EveryDigitIsItsOwnTokenAndNoTokenMergesADigit()
    {
        var tokenizer = Train();
        var ids = tokenizer.Encode("x 12345 and 9876543210", addSpecialTokens: false);
        var pieces = ids.Select(id => tokenizer.Decode([id])).ToList();
        Assert.Equal(["x", " ", "1", "2", "3", "4", "5", " and", " ", "9", "8", "7", "6", "5", "4", "3", "2", "1", "0"], pieces);
        var withDigits = Enumerable.Range(0, tokenizer.VocabSize).Select(tokenizer.TokenString).Where(t => t.Any(char.IsAsciiDigit)).ToList();
        Assert.Equal(10, withDigits.Count);
        Assert.All(withDigits, t => Assert.Equal(1, t.Length));
    }

    [Fact]
    public void PreTokenizerFollowsTheGpt2PatternAfterIsolatingNumbers()
    {
        Assert.Equal(["Hello", ",", " world", "!"], Pieces("Hello, world!"));
        Assert.Equal(["a", " ", " b"], Pieces("a  b"));             // a space run leaves its last space to the word
        Assert.Equal(["abc", " ", "1", "2"], Pieces("abc 12"));      // digits are isolated before the GPT-2 split
        Assert.Equal(["it", "'s", " don", "'t"], Pieces("it's don't"));
        Assert.Equal(["x", "\n", "\n", "y", "  "], Pieces("x\n\ny  "));
        Assert.Equal([" (", "ok", ")."], Pieces(" (ok)."));
        Assert.Equal(["日本語", " é", "😀🚀"], Pieces("日本語 é😀🚀"));
    }

    [Fact]
    public void IncrementalMergeLoopEqualsANaiveRecount()
    {
        var corpus = Corpus();
        var tokenizer = BpeTrainer.Train(corpus, new BpeTrainerOptions { VocabSize = 420, IncludeUnk = true });
        Assert.Equal(420, tokenizer.VocabSize);
        Assert.Equal(tokenizer.VocabSize - 4 - 256, tokenizer.Merges.Count);
        var naive = NaiveMerges(corpus, specials: 4, count: tokenizer.Merges.Count);
        Assert.Equal(naive, tokenizer.Merges);
    }

    [Fact]
    public void TrainingIsDeterministicToTheByte()
    {
        using var dir = new TestPaths.TempDir();
        HfTokenizerFiles.Save(Train(), dir["a"]);
        HfTokenizerFiles.Save(Train(), dir["b"]);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir["a"], file)), File.ReadAllBytes(Path.Combine(dir["b"], file)));
    }

    [Fact]
    public void TooSmallAVocabularyIsRejected()
    {
        var e = Assert.Throws<DeepenException>(() => BpeTrainer.Train(["abc"], new BpeTrainerOptions { VocabSize = 200 }));
        Assert.Contains("vocab_size 200", e.Message);
        Assert.Equal("vocab_size", e.Setting);
        Assert.Contains("259", e.Message);
    }

    /// <summary>The pieces <see cref="BpePreTokenizer.Split"/> cuts <paramref name="text"/> into, as strings.</summary>
    private static List<string> Pieces(string text)
    {
        var ranges = new List<(int Start, int Length)>();
        BpePreTokenizer.Split(text, ranges);
        return ranges.Select(r => text.Substring(r.Start, r.Length)).ToList();
    }

    /// <summary>The textbook algorithm: recount every pair of every word before each merge (ties: smallest ids).</summary>
    private static List<(int, int)> NaiveMerges(IEnumerable<string> texts, int specials, int count)
    {
        var words = new Dictionary<string, long>();
        foreach (var text in texts)
            foreach (var (start, length, special) in BpeTokenizer.SplitOnSpecialTokens(text, ["<s>", "</s>", "<pad>", "<unk>"]))
                if (special < 0)
                    foreach (var piece in Pieces(text.Substring(start, length)))
                        words[piece] = words.GetValueOrDefault(piece) + 1;
        var segmented = words.Select(kv => (Symbols: Encoding.UTF8.GetBytes(kv.Key).Select(b => specials + b).ToList(), Count: kv.Value)).ToList();
        // Each token is named by its bytes in hex, so equal names mean equal byte strings.
        var names = Enumerable.Range(0, 256).ToDictionary(b => specials + b, b => $"{b:X2};");
        var idOfName = names.ToDictionary(kv => kv.Value, kv => kv.Key);
        var merges = new List<(int, int)>();
        while (merges.Count < count)
        {
            var pairs = new Dictionary<(int, int), long>();
            foreach (var (symbols, c) in segmented)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + c;
            var best = pairs.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2).First();
            if (best.Value < 2) break;
            var (a, b) = best.Key;
            string merged = names[a] + names[b];
            if (!idOfName.TryGetValue(merged, out int id))
            {
                id = specials + names.Count;
                names[id] = merged;
                idOfName[merged] = id;
            }
            merges.Add((a, b));
            foreach (var (symbols, _) in segmented)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == a && symbols[i + 1] == b) { symbols[i] = id; symbols.RemoveAt(i + 1); }
        }
        return merges;
    }
}
