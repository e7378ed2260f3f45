#!/usr/bin/env bash
# E29 (docs/results.md): the demo's recurrent run trained 8x longer, evaluated on the validation split. ~80 min + evals on 2 cores.
set -euo pipefail
D="dotnet run --project src/Deepen.Cli -c Release --"
$D demo --split validation --steps 30 --out runs/e29prep          # its recurrent-init and validation chains
$D data synth-chain --count 300000 --ops 1-8 --seed 29 --split train --out runs/e29/train.jsonl
$D data prepare --tokenizer models/tiny-base-chains --input runs/e29/train.jsonl --seq-len 128 --holdout 0.03 --seed 7 --out runs/e29/shards
$D train --config docs/probes/e29/train.yaml
$D eval --model runs/e29/run/final --task chain --data runs/e29prep/data/test.jsonl --recurrence 1,2,4,8 --seed 5 --no-plot --out runs/e29/eval-final
python3 docs/probes/e29/paired.py runs/e29/eval-final/samples.jsonl
