using System.CommandLine;
using Deepen.Data;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen data synth-chain</c>: chains of operations modulo 10, answered with one digit (the demo's task).</summary>
public static class DataSynthChainCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "Number of problems.", DefaultValueFactory = _ => 1000 };
        var ops = new Option<string>("--ops") { Description = $"Operations per problem: a range or list in 1-{ModChain.MaxOps}, e.g. 1-8 or 2,4,12 (problems cycle through it).", DefaultValueFactory = _ => "1-8" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same options give the same file.", DefaultValueFactory = _ => 0 };
        var split = new Option<string>("--split") { Description = "train, validation or test (disjoint: the chain's arithmetic hashes to one split).", DefaultValueFactory = _ => "train" };
        var repeats = new Option<bool>("--allow-repeats") { Description = "Let a problem occur more than once (a training stream); by default every problem is distinct." };
        var worked = new Option<double>("--worked-fraction") { Description = "Fraction of problems shown with worked steps (mod 10: 5 -4 +3 work: 5-4=1 1+3=4 = 4); 0 = all answered directly.", DefaultValueFactory = _ => 0.0 };
        var outFile = new Option<string>("--out") { Description = "Output .jsonl file.", Required = true };
        split.AcceptOnlyFromAmong("train", "validation", "test");
        var cmd = new Command("synth-chain", "Generate chains of +d, -d, *d operations modulo 10 with one-digit answers as JSONL (question, answer, ops, result, text).")
        {
            count, ops, seed, split, repeats, worked, outFile,
        };
        cmd.Handle(parse =>
        {
            var options = new ModChainOptions
            {
                Count = parse.GetValue(count),
                Ops = ModChain.ParseOps(parse.GetValue(ops)!),
                Seed = parse.GetValue(seed),
                Split = Enum.Parse<ChainSplit>(parse.GetValue(split)!, ignoreCase: true),
                Distinct = !parse.GetValue(repeats),
                WorkedFraction = parse.GetValue(worked),
            };
            var path = parse.GetValue(outFile)!;
            int written = ModChain.WriteJsonl(path, ModChain.Generate(options));
            Console.WriteLine($"wrote {path}: {written} {parse.GetValue(split)} chain problems, ops {string.Join(",", options.Ops.Distinct())}");
        });
        return cmd;
    }
}
