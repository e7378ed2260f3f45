using Deepen.Bench;

// Benchmarks print tables; they are never asserted in unit tests.
//   dotnet run --project bench/Deepen.Bench -c Release -- make-tinyllama --out /tmp/tinyllama-shaped
//   dotnet run --project bench/Deepen.Bench -c Release -- recurrence-memory
//   dotnet run --project bench/Deepen.Bench -c Release -- generate-speed [--recurrence 8 --tokens 128 --threads 1]
//   dotnet run --project bench/Deepen.Bench -c Release -- kv-keep-quality [--train-steps 1000 | --model DIR --text FILE]
return args.FirstOrDefault() switch
{
    "make-tinyllama" => MakeTinyLlama.Run(args[1..]),
    "recurrence-memory" => RecurrenceMemory.Run(args[1..]),
    "generate-speed" => GenerateSpeed.Run(args[1..]),
    "kv-keep-quality" => KvKeepQuality.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Deepen.Bench (make-tinyllama --out DIR [--dtype bf16|f32] | recurrence-memory [--worker r k] | generate-speed | kv-keep-quality)");
    return 2;
}
