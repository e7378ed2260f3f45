using System.CommandLine;
using Deepen.Data;
using Deepen.Tokenization;

namespace Deepen.Cli.Commands;

/// <summary>
/// <c>deepen data prepare</c>: tokenize text / JSONL / Parquet inputs with a model's tokenizer, pack them into
/// rows of seq_len + 1 tokens and write <c>train.tokens</c>, <c>val.tokens</c> and <c>manifest.json</c>.
/// </summary>
public static class DataPrepareCommand
{
    public static Command Create(CliServices services)
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "Model or tokenizer directory (tokenizer.json or tokenizer.model).", Required = true };
        var input = new Option<string[]>("--input") { Description = "Input files or folders: .txt, .jsonl, .parquet (folders: recursively, sorted).", Required = true, AllowMultipleArgumentsPerToken = true };
        var textField = new Option<string>("--text-field") { Description = "JSONL key (and default Parquet column) holding the document.", DefaultValueFactory = _ => "text" };
        var parquetColumn = new Option<string?>("--parquet-column") { Description = "Parquet column: strings (text) or list<int32/int64> (token ids). Default: the text field if present, else input_ids." };
        var docSplit = new Option<string>("--doc-split") { Description = "Plain text files: file (whole file is one document), paragraph (blank-line-separated blocks) or line.", DefaultValueFactory = _ => "file" };
        docSplit.AcceptOnlyFromAmong("file", "paragraph", "line");
        var seqLen = new Option<int>("--seq-len") { Description = "Model sequence length; rows hold seq_len + 1 tokens.", DefaultValueFactory = _ => 1024 };
        var outDir = new Option<string>("--out") { Description = "Output directory for train.tokens, val.tokens, manifest.json.", Required = true };
        var holdout = new Option<double>("--holdout") { Description = "Fraction of rows held out for validation (chosen by seed).", DefaultValueFactory = _ => 0.01 };
        var holdoutRows = new Option<long?>("--holdout-rows") { Description = "Exact number of held-out rows (overrides --holdout)." };
        var seed = new Option<long>("--seed") { Description = "Seed that chooses the held-out rows.", DefaultValueFactory = _ => 74 };
        var threads = new Option<int>("--threads") { Description = "Documents tokenized in parallel.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("prepare", "Tokenize and pack inputs into token shards (train.tokens, val.tokens) with a manifest.")
        {
            tokenizer, input, textField, parquetColumn, docSplit, seqLen, outDir, holdout, holdoutRows, seed, threads,
        };
        cmd.Handle(parse =>
        {
            var options = new DataPrepareOptions
            {
                Inputs = parse.GetValue(input)!,
                OutDir = parse.GetValue(outDir)!,
                SeqLen = parse.GetValue(seqLen),
                Sources = new DocumentSourceOptions(
                    Enum.Parse<DocumentSplit>(parse.GetValue(docSplit)!, ignoreCase: true),
                    parse.GetValue(textField)!,
                    parse.GetValue(parquetColumn)),
                HoldoutFraction = parse.GetValue(holdout),
                HoldoutRows = parse.GetValue(holdoutRows),
                Seed = parse.GetValue(seed),
                Threads = parse.GetValue(threads),
                Command = CliRunner.CommandLine(parse),
                Log = Console.WriteLine,
            };
            var tok = services.OpenTokenizer(parse.GetValue(tokenizer)!);
            using var disposeTok = tok as IDisposable;
            DataPreparer.Prepare(options, tok);
        });
        return cmd;
    }
}
