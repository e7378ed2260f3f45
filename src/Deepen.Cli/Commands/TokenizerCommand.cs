using System.CommandLine;
using System.Diagnostics;
using Deepen.Data;
using Deepen.Tokenization;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen tokenizer</c>: tokenizer verbs; <c>train</c> trains a byte-level BPE tokenizer and saves HF tokenizer files.</summary>
public static class TokenizerCommand
{
    public static Command Create()
    {
        var cmd = new Command("tokenizer", "Train tokenizers.");
        cmd.Subcommands.Add(CreateTrain());
        return cmd;
    }

    private static Command CreateTrain()
    {
        var corpus = new Option<string[]>("--corpus")
        {
            Description = "Text files, or directories of *.txt files, to train on.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size, special and byte tokens included.", DefaultValueFactory = _ => 4096 };
        var maxBytes = new Option<long>("--max-bytes") { Description = "Train on at most this many bytes, shared equally among the files.", DefaultValueFactory = _ => 8_000_000 };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Stop merging when the best pair occurs fewer times.", DefaultValueFactory = _ => 2 };
        var unk = new Option<bool>("--unk") { Description = "Also add an <unk> special token." };
        var maxLength = new Option<int>("--model-max-length") { Description = "model_max_length in tokenizer_config.json.", DefaultValueFactory = _ => 2048 };
        var outDir = new Option<string>("--out") { Description = "Output directory for tokenizer.json, tokenizer_config.json, special_tokens_map.json.", Required = true };
        var cmd = new Command("train", "Train a byte-level BPE tokenizer (digits split, <s> </s> <pad>) and save it in HF format.")
        {
            corpus, vocabSize, maxBytes, minFrequency, unk, maxLength, outDir,
        };
        cmd.Handle(parse =>
        {
            var clock = Stopwatch.StartNew();
            var texts = CorpusSample.Read(parse.GetValue(corpus)!, parse.GetValue(maxBytes));
            long chars = texts.Sum(t => (long)t.Length);
            Console.WriteLine($"read {texts.Count} files, {chars:N0} characters in {clock.Elapsed.TotalSeconds:F1}s");
            var options = new BpeTrainerOptions
            {
                VocabSize = parse.GetValue(vocabSize),
                MinFrequency = parse.GetValue(minFrequency),
                IncludeUnk = parse.GetValue(unk),
            };
            var tokenizer = BpeTrainer.Train(texts, options, Console.WriteLine);
            var dir = parse.GetValue(outDir)!;
            HfTokenizerFiles.Save(tokenizer, dir, new HfTokenizerFileOptions { ModelMaxLength = parse.GetValue(maxLength) });
            Console.WriteLine($"wrote {dir}: vocabulary {tokenizer.VocabSize}, {tokenizer.Merges.Count} merges, total {clock.Elapsed.TotalSeconds:F1}s");
        });
        return cmd;
    }
}
