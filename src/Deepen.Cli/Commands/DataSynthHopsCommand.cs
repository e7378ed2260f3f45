using System.CommandLine;
using Deepen.Data;

namespace Deepen.Cli.Commands;

/// <summary><c>deepen data synth-hops</c>: variable look-ups several hops deep, answered with one digit.</summary>
public static class DataSynthHopsCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "Number of problems.", DefaultValueFactory = _ => 1000 };
        var hops = new Option<string>("--hops") { Description = "Hops per problem: a range or list, e.g. 1-8 or 2,4 (problems cycle through it); hops · chains ≤ 26.", DefaultValueFactory = _ => "1-8" };
        var chains = new Option<int>("--chains") { Description = "Chains per problem: the asked one and distractors of the same length, each ending in its own digit.", DefaultValueFactory = _ => 3 };
        var seed = new Option<ulong>("--seed") { Description = "Random seed; the same options give the same file.", DefaultValueFactory = _ => 0 };
        var split = new Option<string>("--split") { Description = "train, validation or test (disjoint: the problem's text hashes to one split).", DefaultValueFactory = _ => "train" };
        var worked = new Option<double>("--worked-fraction") { Description = "Fraction of problems with the hops written out (find k:t=3;k=t.k>t>3); 0 = all answered directly.", DefaultValueFactory = _ => 0 };
        var askAll = new Option<double>("--ask-all-fraction") { Description = "Fraction of the direct problems that ask every chain's head after the asked one (find k:…;.k?3.m?5.a?1).", DefaultValueFactory = _ => 0 };
        var outFile = new Option<string>("--out") { Description = "Output .jsonl file.", Required = true };
        split.AcceptOnlyFromAmong("train", "validation", "test");
        var cmd = new Command("synth-hops", "Generate variable look-ups several hops deep (find k:t=3;k=t.k? → 3) as JSONL (question, answer, ops = hops, result, text).")
        {
            count, hops, chains, seed, split, worked, askAll, outFile,
        };
        cmd.Handle(parse =>
        {
            var options = new VariableHopsOptions
            {
                Count = parse.GetValue(count),
                Hops = CountSpec.Parse(parse.GetValue(hops)!, VariableHops.Names, "hops"),
                Chains = parse.GetValue(chains),
                Seed = parse.GetValue(seed),
                Split = Enum.Parse<ChainSplit>(parse.GetValue(split)!, ignoreCase: true),
                WorkedFraction = parse.GetValue(worked),
                AskAllFraction = parse.GetValue(askAll),
            };
            var path = parse.GetValue(outFile)!;
            int written = ModChain.WriteJsonl(path, VariableHops.Generate(options));
            Console.WriteLine($"wrote {path}: {written} {parse.GetValue(split)} hop problems, hops {string.Join(",", options.Hops.Distinct())}, {options.Chains} chains{(options.WorkedFraction > 0 ? $", {options.WorkedFraction:P0} with the hops written out" : "")}{(options.AskAllFraction > 0 ? $", {options.AskAllFraction:P0} of the direct ones asking every chain" : "")}");
        });
        return cmd;
    }
}
