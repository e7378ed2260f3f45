#!/usr/bin/python3
"""PyTorch peer of `Deepen.Bench decode-vs-pytorch`: cached greedy decoding of the same recurrent model, written the
way one writes it in PyTorch (Debian's python3-torch 1.13), with the same per-iteration KV cache as Deepen's
(method.md section 8): one key/value entry per prelude and coda layer, one per (iteration, core layer), preallocated
and written in place. Each token runs the prelude, r iterations of core(adapter(cat(state, e))) from fresh
truncated-normal noise, the coda, the norm and the head, then argmax. The model is train_step.py's (random weights,
same shapes as the Deepen side: speed only, not token equality). PyTorch 1.13 has no scaled_dot_product_attention,
so attention is the explicit softmax(q k^T / sqrt(hd) + mask) v.

  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 bench/peer/decode.py \
      --prelude 2 --core 4 --coda 2 --d 256 --heads 8 --kv-heads 8 --ffn 1024 --vocab 4096 \
      --batch 1 --prompt 32 --tokens 64 --r 8 --threads 1 --repeats 3
Prints one JSON line per timed run {"batch","r","tokens","s","tokens_per_s"}.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import RecurrentModel, rotate_half  # noqa: E402


class Cache:
    """Preallocated keys and values of one attention layer: (B, Hkv, Tmax, hd) each."""

    def __init__(self, batch, kv_heads, length, hd):
        self.k = torch.empty(batch, kv_heads, length, hd)
        self.v = torch.empty(batch, kv_heads, length, hd)


def block_step(block, x, cos, sin, cache, pos):
    """One pre-norm block over T new positions starting at pos, reading and writing cache: (B, T, d) -> (B, T, d)."""
    B, T, _ = x.shape
    a = block.attn
    hd = a.head_dim
    h = block.norm_1(x)
    q, k, v = a.Wqkv(h).split([a.heads * hd, a.kv_heads * hd, a.kv_heads * hd], dim=-1)
    q = q.view(B, T, a.heads, hd).transpose(1, 2)
    k = k.view(B, T, a.kv_heads, hd).transpose(1, 2)
    v = v.view(B, T, a.kv_heads, hd).transpose(1, 2)
    c, s = cos[pos:pos + T], sin[pos:pos + T]
    q = q * c + rotate_half(q) * s
    k = k * c + rotate_half(k) * s
    cache.k[:, :, pos:pos + T] = k
    cache.v[:, :, pos:pos + T] = v
    K, V = cache.k[:, :, :pos + T], cache.v[:, :, :pos + T]
    if a.kv_heads != a.heads:
        K = K.repeat_interleave(a.heads // a.kv_heads, dim=1)
        V = V.repeat_interleave(a.heads // a.kv_heads, dim=1)
    att = (q @ K.transpose(-2, -1)) * (1.0 / math.sqrt(hd))          # (B, H, T, pos + T)
    if T > 1:
        mask = torch.ones(T, pos + T, dtype=torch.bool).triu(pos + 1)  # lower-right causal
        att = att.masked_fill(mask, float("-inf"))
    y = (att.softmax(dim=-1) @ V).transpose(1, 2).reshape(B, T, a.heads * hd)
    x = x + a.proj(y)
    return x + block.mlp(block.norm_2(x))


def step(model, ids, caches, pos, r):
    """ids (B, T) at positions pos.. -> logits of the last position (B, V)."""
    x = model.wte(ids)
    for i, block in enumerate(model.prelude):
        x = block_step(block, x, model.cos, model.sin, caches["prelude"][i], pos)
    e = x
    std = model.STATE_STD
    s = torch.nn.init.trunc_normal_(torch.empty_like(e), std=std, a=-3 * std, b=3 * std)
    for it in range(r):
        h = model.adapter(torch.cat([s, e], dim=-1))
        for j, block in enumerate(model.core_block):
            h = block_step(block, h, model.cos, model.sin, caches["core"][it][j], pos)
        s = h
    for i, block in enumerate(model.coda):
        s = block_step(block, s, model.cos, model.sin, caches["coda"][i], pos)
    return model.lm_head(model.ln_f(s[:, -1]))


def generate(model, a, prompt):
    hd = a.d // a.heads
    length = a.prompt + a.tokens
    caches = {
        "prelude": [Cache(a.batch, a.kv_heads, length, hd) for _ in range(a.prelude)],
        "core": [[Cache(a.batch, a.kv_heads, length, hd) for _ in range(a.core)] for _ in range(a.r)],
        "coda": [Cache(a.batch, a.kv_heads, length, hd) for _ in range(a.coda)],
    }
    ids, pos, out = prompt, 0, []
    for _ in range(a.tokens):
        logits = step(model, ids, caches, pos, a.r)
        pos += ids.shape[1]
        ids = logits.argmax(-1, keepdim=True)                          # (B, 1)
        out.append(ids)
    return torch.cat(out, 1)


def main():
    p = argparse.ArgumentParser()
    for name, default in [("prelude", 2), ("core", 4), ("coda", 2), ("d", 256), ("heads", 8), ("kv-heads", 8), ("ffn", 1024),
                          ("vocab", 4096), ("batch", 1), ("prompt", 32), ("tokens", 64), ("r", 8), ("threads", 1), ("repeats", 3)]:
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    a.seq = a.prompt + a.tokens
    model = RecurrentModel(a).eval()
    prompt = torch.randint(3, a.vocab, (a.batch, a.prompt))
    with torch.no_grad():
        generate(model, argparse.Namespace(**{**vars(a), "tokens": 4}), prompt)   # warm-up
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            out = generate(model, a, prompt)
            dt = time.perf_counter() - t0
            assert out.shape == (a.batch, a.tokens)
            print(json.dumps({"batch": a.batch, "r": a.r, "tokens": a.batch * a.tokens, "s": dt, "tokens_per_s": a.batch * a.tokens / dt}), flush=True)


if __name__ == "__main__":
    main()
