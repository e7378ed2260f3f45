using System.CommandLine;
using Deepen.Data;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen data synth-math</c>: generated GSM8K-format word problems with a controlled number of operations.</summary>
public static class DataSynthMathCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "Number of problems.", DefaultValueFactory = _ => 1000 };
        var ops = new Option<string>("--ops") { Description = "Operations per problem: a range or list in 1-8, e.g. 1-8 or 2,4,6 (problems cycle through it).", DefaultValueFactory = _ => "1-8" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same options give the same file.", DefaultValueFactory = _ => 0 };
        var split = new Option<string>("--split") { Description = "train or test (disjoint: the problem's arithmetic hashes to one split).", DefaultValueFactory = _ => "train" };
        var format = new Option<string>("--format") { Description = "cot (worked steps with <<a*b=c>> annotations) or direct (just '#### N').", DefaultValueFactory = _ => "cot" };
        var maxValue = new Option<int>("--max-value") { Description = "Upper bound on every intermediate value.", DefaultValueFactory = _ => 10_000 };
        var outFile = new Option<string>("--out") { Description = "Output .jsonl file.", Required = true };
        split.AcceptOnlyFromAmong("train", "test");
        format.AcceptOnlyFromAmong("cot", "direct");
        var cmd = new Command("synth-math", "Generate grade-school word problems with exact integer answers as GSM8K-format JSONL.")
        {
            count, ops, seed, split, format, maxValue, outFile,
        };
        cmd.Handle(parse =>
        {
            var options = new SyntheticMathOptions
            {
                Count = parse.GetValue(count),
                Ops = SyntheticMath.ParseOps(parse.GetValue(ops)!),
                Seed = parse.GetValue(seed),
                Split = parse.GetValue(split) == "test" ? MathSplit.Test : MathSplit.Train,
                Format = parse.GetValue(format) == "direct" ? MathAnswerFormat.Direct : MathAnswerFormat.ChainOfThought,
                MaxValue = parse.GetValue(maxValue),
            };
            var path = parse.GetValue(outFile)!;
            int written = SyntheticMath.WriteJsonl(path, SyntheticMath.Generate(options));
            Console.WriteLine($"wrote {path}: {written} {parse.GetValue(split)} problems, {parse.GetValue(format)} format, ops {string.Join(",", options.Ops.Distinct())}");
        });
        return cmd;
    }
}
