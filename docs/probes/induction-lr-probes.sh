#!/bin/bash
# E24/E25: the E23 induction drill with lower learning rates (validation split only)
set -e
cd /work/main
D="dotnet src/Deepen.Cli/bin/Release/net10.0/linux-x64/Deepen.Cli.dll"
W=/tmp/e24
[ -f $W/train.jsonl ] || python3 docs/probes/induction-drill.py 6 300000 23 $W/train.jsonl train
[ -f $W/val.jsonl ] || python3 docs/probes/induction-drill.py 6 300 24 $W/val.jsonl val
[ -d $W/init ] || $D init --tokenizer models/tiny-base --out $W/init --layers 4 --hidden-size 128 --heads 4 --kv-heads 4 --intermediate-size 384 --seed 0
run() { name=$1; shift
  $D train --model $W/init --out $W/$name --train-data $W/train.jsonl --seq-len 256 --micro-batch-size 8 --max-steps 4000 \
    --weight-decay 0 --muon-weight-decay 0 --warmup 0.01 --cooldown 0.2 --min-lr-ratio 0.01 --precision bf16-mixed \
    --loss-on answer --answer-marker "?" --seed 74 --threads 2 --eval-every 1000 --save-every 1000 "$@" > $W/$name.log 2>&1
  $D eval --model $W/$name/final --task chain --data $W/val.jsonl --max-new-tokens 2 --out $W/$name-eval
}
run e24-adamw-1e-3 --optimizer adamw --lr 1e-3
run e25-muon-low --optimizer muon --lr 1e-3 --muon-lr 5e-3
echo done > $W/DONE
