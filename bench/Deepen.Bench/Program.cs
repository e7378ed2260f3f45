using Deepen.Bench;

// Benchmarks print tables; they are never asserted in unit tests.
//   dotnet run --project bench/Deepen.Bench -c Release -- make-tinyllama --out /tmp/tinyllama-shaped
//   dotnet run --project bench/Deepen.Bench -c Release -- recurrence-memory
//   dotnet run --project bench/Deepen.Bench -c Release -- generate-speed [--recurrence 8 --tokens 128 --threads 1]
//   dotnet run --project bench/Deepen.Bench -c Release -- kv-keep-quality [--train-steps 1000 | --model DIR --text FILE]
//   dotnet run --project bench/Deepen.Bench -c Release -- train-vs-pytorch [--sizes tiny,mid,mid-accum --repeats 5 --steps 5 --warmup 2]
//   dotnet run --project bench/Deepen.Bench -c Release -- decode-prefill [--recurrence 8 --threads 2]
//   dotnet run --project bench/Deepen.Bench -c Release -- decode-cache-length [--model models/tiny-base --threads 1]   (a decode step against the cache's length)
//   dotnet run --project bench/Deepen.Bench -c Release -- decode-vs-pytorch [--recurrences 1,8 --batches 1,8 --threads 1]   (cached decode, Deepen vs PyTorch)
//   dotnet run --project bench/Deepen.Bench -c Release -- serve-load [--model models/tiny-base --clients 1,4,16 --max-batch 1,16 --requests 12]   (deepen serve under load)
//   dotnet run --project bench/Deepen.Bench -c Release -p:LibTorchPackage=libtorch-cuda-12.8-linux-x64 -- gpu-check [--device cuda --steps 5 --precision fp32|bf16 --size tiny|mid]   (CPU vs GPU)
//   dotnet run --project bench/Deepen.Bench -c Release -- op-profile [--size tiny|mid --threads 2]   (per-op times, Deepen vs PyTorch)
//   dotnet run --project bench/Deepen.Bench -c Release -- perf-report [--report bench/results/latest.md]   (everything; see bench/README.md)
return args.FirstOrDefault() switch
{
    "make-tinyllama" => MakeTinyLlama.Run(args[1..]),
    "recurrence-memory" => RecurrenceMemory.Run(args[1..]),
    "generate-speed" => GenerateSpeed.Run(args[1..]),
    "kv-keep-quality" => KvKeepQuality.Run(args[1..]),
    "train-vs-pytorch" => TrainVsPyTorch.Run(args[1..]),
    "decode-prefill" => DecodePrefill.Run(args[1..]),
    "decode-cache-length" => DecodeByCacheLength.Run(args[1..]),
    "decode-vs-pytorch" => DecodeVsPyTorch.Run(args[1..]),
    "perf-report" => PerfReport.Run(args[1..]),
    "op-profile" => OpProfile.Run(args[1..]),
    "serve-load" => ServeLoad.Run(args[1..]),
    "gpu-check" => GpuCheck.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Deepen.Bench (make-tinyllama --out DIR [--dtype bf16|f32] | recurrence-memory [--worker r k] | generate-speed | kv-keep-quality | train-vs-pytorch | decode-prefill | decode-cache-length | decode-vs-pytorch | serve-load | gpu-check | op-profile | perf-report)");
    return 2;
}
