#!/usr/bin/python3
"""PyTorch peer of `Deepen.Bench train-vs-pytorch`: the same recurrent model and training step, written the way
one writes it in PyTorch (Debian's python3-torch 1.13).

Model as in the reference modeling file (Raven / retrofitting-recurrence): embedding -> prelude blocks ->
r iterations of core(adapter(cat(state, e))) from a truncated-normal state -> coda blocks -> ln_f -> lm_head.
Blocks are pre-norm Llama blocks with a fused Wqkv projection, a fused gate/up projection (mlp.fc), RMSNorm in
float32, rotate-half rope and grouped-query attention. PyTorch 1.13 has no scaled_dot_product_attention, so
attention is the explicit softmax(q k^T / sqrt(hd) + causal mask) v. Truncated backprop: the first n iterations
run under torch.no_grad(), the state is detached, the last k iterations record gradients.

Step: zero_grad(set_to_none) -> (forward -> float32 cross-entropy -> backward) x --accum micro-batches -> clip_grad_norm_(1.0) ->
Muon (hidden matrices) + aux Adam (embedding, head, norms) step, as in the Muon package's
SingleDeviceMuonWithAuxAdam with method.md's settings. Precision: float32, or bf16 autocast
(torch.autocast("cpu", dtype=torch.bfloat16)) over float32 weights, with the cast cache cleared after the no-grad
iterations (otherwise the core would get no gradient, see RecurrentModel.forward).

Run it with OpenBLAS built for OpenMP first on the library path (design.md section 4), e.g.
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 bench/peer/train_step.py \
      --prelude 2 --core 4 --coda 2 --d 256 --heads 8 --kv-heads 8 --ffn 1024 --vocab 4096 \
      --batch 1 --seq 256 --n 4 --k 4 --precision fp32 --steps 5 --warmup 2 --threads 2
Prints one JSON line per step {"step","warmup","ms","fwd_ms","bwd_ms","opt_ms","cpu_ms","loss"} and a last line with
the peak RSS (VmHWM) and the BLAS libraries mapped into the process. --peak prints the float32 and bfloat16
matmul peak instead (2048^2 products).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- model

class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.to(x.dtype) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, d, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, d // heads
        self.Wqkv = nn.Linear(d, (heads + 2 * kv_heads) * self.head_dim, bias=False)
        self.proj = nn.Linear(heads * self.head_dim, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        hd = self.head_dim
        q, k, v = self.Wqkv(x).split([self.heads * hd, self.kv_heads * hd, self.kv_heads * hd], dim=-1)
        q = q.view(B, T, self.heads, hd).transpose(1, 2)        # (B, H, T, hd)
        k = k.view(B, T, self.kv_heads, hd).transpose(1, 2)     # (B, Hkv, T, hd)
        v = v.view(B, T, self.kv_heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        return self.proj(attend(q, k, v, mask))


def attend(q, k, v, mask):
    """q (B, H, T, hd), k and v (B, Hkv, T, hd), mask (T, T) True above the diagonal -> (B, T, H*hd)."""
    B, H, T, hd = q.shape
    if k.shape[1] != H:
        k = k.repeat_interleave(H // k.shape[1], dim=1)
        v = v.repeat_interleave(H // v.shape[1], dim=1)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))      # (B, H, T, T)
    att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
    return (att.to(v.dtype) @ v).transpose(1, 2).reshape(B, T, H * hd)


class MLP(nn.Module):
    def __init__(self, d, ffn):
        super().__init__()
        self.fc = nn.Linear(d, 2 * ffn, bias=False)               # rows [gate; up]
        self.proj = nn.Linear(ffn, d, bias=False)

    def forward(self, x):
        gate, up = self.fc(x).chunk(2, dim=-1)
        return self.proj(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.norm_1 = RMSNorm(a.d)
        self.attn = Attention(a.d, a.heads, a.kv_heads)
        self.norm_2 = RMSNorm(a.d)
        self.mlp = MLP(a.d, a.ffn)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.norm_1(x), cos, sin, mask)
        return x + self.mlp(self.norm_2(x))


class RecurrentModel(nn.Module):
    STATE_STD = 0.008703882797784892   # Huginn's init std (RecurrentConfig.HuginnStateStd)

    def __init__(self, a):
        super().__init__()
        self.wte = nn.Embedding(a.vocab, a.d)
        self.prelude = nn.ModuleList(Block(a) for _ in range(a.prelude))
        self.adapter = nn.Linear(2 * a.d, a.d, bias=False)
        self.core_block = nn.ModuleList(Block(a) for _ in range(a.core))
        self.coda = nn.ModuleList(Block(a) for _ in range(a.coda))
        self.ln_f = RMSNorm(a.d)
        self.lm_head = nn.Linear(a.d, a.vocab, bias=False)
        hd = a.d // a.heads
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(a.seq, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)                     # (T, hd)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)
        self.register_buffer("mask", torch.ones(a.seq, a.seq, dtype=torch.bool).triu(1), persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def core(self, s, e, cos, sin, mask):
        x = self.adapter(torch.cat([s, e], dim=-1))
        for block in self.core_block:
            x = block(x, cos, sin, mask)
        return x

    def forward(self, ids, n, k):
        T = ids.shape[1]
        cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
        x = self.wte(ids)
        for block in self.prelude:
            x = block(x, cos, sin, mask)
        e = x
        s = nn.init.trunc_normal_(torch.empty_like(e), std=self.STATE_STD, a=-3 * self.STATE_STD, b=3 * self.STATE_STD)
        with torch.no_grad():
            for _ in range(n):
                s = self.core(s, e, cos, sin, mask)
        # Autocast caches each weight's bf16 copy for the rest of the autocast region, and a copy first made under
        # no_grad has no autograd history: without this, the k grad iterations would reuse it and the core and the
        # adapter would get no gradient at all (PyTorch 1.13; the backward then looks ~30 % cheaper than it is).
        torch.clear_autocast_cache()
        s = s.detach()
        for _ in range(k):
            s = self.core(s, e, cos, sin, mask)
        for block in self.coda:
            s = block(s, cos, sin, mask)
        return self.lm_head(self.ln_f(s))


# ---------------------------------------------------------------- optimizer (the Muon package's single-device version)

def zeropower_via_newtonschulz5(G, steps=5):
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.bfloat16()
    if G.size(-2) > G.size(-1):
        X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(-2) > G.size(-1):
        X = X.mT
    return X


def muon_update(grad, momentum, beta=0.95, ns_steps=5):
    momentum.lerp_(grad, 1 - beta)
    update = grad.lerp_(momentum, beta)                            # Nesterov
    update = zeropower_via_newtonschulz5(update, steps=ns_steps)
    update *= max(1, grad.size(-2) / grad.size(-1)) ** 0.5
    return update


def adam_update(grad, buf1, buf2, step, betas, eps):
    buf1.lerp_(grad, 1 - betas[0])
    buf2.lerp_(grad.square(), 1 - betas[1])
    buf1c = buf1 / (1 - betas[0] ** step)
    buf2c = buf2 / (1 - betas[1] ** step)
    return buf1c / (buf2c.sqrt() + eps)


class SingleDeviceMuonWithAuxAdam(torch.optim.Optimizer):
    def __init__(self, param_groups):
        for group in param_groups:
            if group["use_muon"]:
                group.setdefault("lr", 1e-3); group.setdefault("momentum", 0.95); group.setdefault("weight_decay", 1e-4)
            else:
                group.setdefault("lr", 5e-5); group.setdefault("betas", (0.9, 0.95)); group.setdefault("eps", 1e-10)
                group.setdefault("weight_decay", 1e-4)
        super().__init__(param_groups, dict())

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                state = self.state[p]
                if group["use_muon"]:
                    if len(state) == 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    update = muon_update(p.grad, state["momentum_buffer"], beta=group["momentum"])
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update.reshape(p.shape), alpha=-group["lr"])
                else:
                    if len(state) == 0:
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                        state["step"] = 0
                    state["step"] += 1
                    update = adam_update(p.grad, state["exp_avg"], state["exp_avg_sq"], state["step"], group["betas"], group["eps"])
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update, alpha=-group["lr"])


def optimizer_for(model):
    adam_names = ("norm", "ln_f", "wte", "lm_head")
    muon = [p for n, p in model.named_parameters() if p.dim() == 2 and not any(a in n for a in adam_names)]
    adam = [p for n, p in model.named_parameters() if p.dim() != 2 or any(a in n for a in adam_names)]
    return SingleDeviceMuonWithAuxAdam([dict(params=muon, use_muon=True), dict(params=adam, use_muon=False)])


# ---------------------------------------------------------------- measurement

def peak_rss_mib(field="VmHWM:"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def trace(a, step, phase):
    """With --rss-trace: where in a step the memory peak falls (current and peak RSS at each phase)."""
    if a.rss_trace:
        print(json.dumps({"rss_trace": phase, "step": step, "rss_mib": peak_rss_mib("VmRSS:"), "peak_mib": peak_rss_mib()}), flush=True)


def blas_libraries():
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f if "blas" in line.split()[-1]})


def matmul_peak(n, reps, inner):
    result = {"size": n, "threads": torch.get_num_threads()}
    g = torch.Generator().manual_seed(0)
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(n, n, generator=g).to(dtype)
        b = torch.randn(n, n, generator=g).to(dtype)
        for _ in range(2):
            a @ b
        best = 0.0
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                a @ b
            best = max(best, 2.0 * n ** 3 * inner / (time.perf_counter() - t0))
        result[name + "_gflops"] = best / 1e9
    return result


def best_ms(call):
    """Milliseconds per call: the best of 5 batches of calls, each batch about 50 ms or at least 3 calls."""
    for _ in range(2):
        call()
    t0 = time.perf_counter(); call(); one = (time.perf_counter() - t0) * 1e3
    inner = max(3, int(50 / max(0.01, one)))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(inner):
            call()
        best = min(best, (time.perf_counter() - t0) * 1e3 / inner)
    return best


def op_profile(a):
    """The ops of Deepen.Bench's OpProfile, written the way this peer's model runs them; one JSON line each."""
    g = torch.Generator().manual_seed(0)
    hd = a.d // a.heads
    qkv = (a.heads + 2 * a.kv_heads) * hd
    linears = [("attn.Wqkv", a.d, qkv), ("attn.proj", a.heads * hd, a.d), ("mlp.fc", a.d, 2 * a.ffn), ("mlp.proj", a.ffn, a.d),
               ("adapter", 2 * a.d, a.d), ("lm_head", a.d, a.vocab)]
    for name, fan_in, fan_out in linears:
        for dtype in ("fp32", "bf16"):
            lin = nn.Linear(fan_in, fan_out, bias=False)
            x = torch.randn(a.batch, a.seq, fan_in, generator=g, requires_grad=True)
            grad = torch.randn(a.batch, a.seq, fan_out, generator=g)
            ac = dict(device_type="cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")

            def fwd():
                with torch.no_grad(), torch.autocast(**ac):
                    lin(x)

            def fwd_bwd():
                with torch.autocast(**ac):
                    y = lin(x)
                y.backward(grad.to(y.dtype))
                x.grad = None
            print(json.dumps({"op": name, "dtype": dtype, "fwd_ms": best_ms(fwd), "fwdbwd_ms": best_ms(fwd_bwd)}), flush=True)
    mask = torch.ones(a.seq, a.seq, dtype=torch.bool).triu(1)
    for dtype in ("fp32", "bf16"):
        # Under autocast the projections hand attention bf16 q, k, v.
        dt = torch.bfloat16 if dtype == "bf16" else torch.float32
        q = torch.randn(a.batch, a.heads, a.seq, hd, generator=g).to(dt).requires_grad_(True)
        k = torch.randn(a.batch, a.kv_heads, a.seq, hd, generator=g).to(dt).requires_grad_(True)
        v = torch.randn(a.batch, a.kv_heads, a.seq, hd, generator=g).to(dt).requires_grad_(True)
        grad = torch.randn(a.batch, a.seq, a.heads * hd, generator=g)
        ac = dict(device_type="cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")

        def fwd():
            with torch.no_grad(), torch.autocast(**ac):
                attend(q, k, v, mask)

        def fwd_bwd():
            with torch.autocast(**ac):
                y = attend(q, k, v, mask)
            y.backward(grad.to(y.dtype))
        print(json.dumps({"op": "attention", "dtype": dtype, "fwd_ms": best_ms(fwd), "fwdbwd_ms": best_ms(fwd_bwd)}), flush=True)
    # A whole block, with the cos/sin/mask tables as the model builds them, and the head with its loss.
    tables = RecurrentModel(a)
    cos, sin, mask = tables.cos[:a.seq], tables.sin[:a.seq], tables.mask[:a.seq, :a.seq]
    for dtype in ("fp32", "bf16"):
        block = Block(a)
        for p in block.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
        x = torch.randn(a.batch, a.seq, a.d, generator=g, requires_grad=True)
        grad = torch.randn(a.batch, a.seq, a.d, generator=g)
        ac = dict(device_type="cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")

        def fwd():
            with torch.no_grad(), torch.autocast(**ac):
                block(x, cos, sin, mask)

        def fwd_bwd():
            with torch.autocast(**ac):
                y = block(x, cos, sin, mask)
            y.backward(grad.to(y.dtype))
            x.grad = None
        print(json.dumps({"op": "block", "dtype": dtype, "fwd_ms": best_ms(fwd), "fwdbwd_ms": best_ms(fwd_bwd)}), flush=True)
    labels = torch.randint(a.vocab, (a.batch * a.seq,), generator=g)
    for dtype in ("fp32", "bf16"):
        norm, head = RMSNorm(a.d), nn.Linear(a.d, a.vocab, bias=False)
        nn.init.normal_(head.weight, std=0.02)
        x = torch.randn(a.batch, a.seq, a.d, generator=g, requires_grad=True)
        ac = dict(device_type="cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")

        def loss():
            with torch.autocast(**ac):
                logits = head(norm(x))
            return F.cross_entropy(logits.reshape(-1, a.vocab).float(), labels)

        def fwd():
            with torch.no_grad():
                loss()

        def fwd_bwd():
            loss().backward()
            x.grad = None
        print(json.dumps({"op": "ln_f+lm_head+loss", "dtype": dtype, "fwd_ms": best_ms(fwd), "fwdbwd_ms": best_ms(fwd_bwd)}), flush=True)
    for name, rows, cols in (("Wqkv", qkv, a.d), ("attn.proj", a.d, a.heads * hd), ("mlp.fc", 2 * a.ffn, a.d), ("mlp.proj", a.d, a.ffn),
                             ("adapter", a.d, 2 * a.d)):
        w = torch.randn(rows, cols, generator=g)
        print(json.dumps({"op": "NS5 " + name, "dtype": "bf16", "fwd_ms": best_ms(lambda: zeropower_via_newtonschulz5(w)), "fwdbwd_ms": None}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, default in (("prelude", 2), ("core", 4), ("coda", 2), ("d", 256), ("heads", 8), ("kv-heads", 8), ("ffn", 1024),
                          ("vocab", 4096), ("batch", 1), ("seq", 256), ("n", 4), ("k", 4), ("accum", 1), ("steps", 5), ("warmup", 2), ("threads", 2)):
        p.add_argument("--" + flag, type=int, default=default)
    p.add_argument("--name", default="custom")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--rss-trace", action="store_true", help="print current and peak RSS at each phase of a step")
    p.add_argument("--peak", action="store_true", help="print the matmul peak instead of training")
    p.add_argument("--op-profile", action="store_true", help="time the step's ops one by one instead of training")
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--inner", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    if a.peak:
        result = matmul_peak(a.size, a.reps, a.inner)
        result["blas"] = blas_libraries()
        print(json.dumps(result), flush=True)
        return

    if a.op_profile:
        op_profile(a)
        return

    torch.manual_seed(0)
    model = RecurrentModel(a)
    model.train()
    opt = optimizer_for(model)
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g)
    inputs, labels = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    params = list(model.parameters())
    for step in range(a.warmup + a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        trace(a, step, "before_forward")
        loss_value, fwd_s, bwd_s = 0.0, 0.0, 0.0
        for _ in range(a.accum):                                     # gradient accumulation
            m0 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
                logits = model(inputs, a.n, a.k)
            loss = F.cross_entropy(logits.float().view(-1, a.vocab), labels.view(-1))
            loss_value += loss.item() / a.accum
            m1 = time.perf_counter()
            trace(a, step, "after_forward")
            (loss / a.accum).backward()
            trace(a, step, "after_backward")
            m2 = time.perf_counter()
            fwd_s, bwd_s = fwd_s + m1 - m0, bwd_s + m2 - m1
        t2 = time.perf_counter()
        if step == 0:
            missing = [name for name, p in model.named_parameters() if p.grad is None]
            if missing:
                sys.exit(f"no gradient reached {len(missing)} parameters, e.g. {missing[:3]}")
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        trace(a, step, "after_optimizer")
        print(json.dumps({"step": step, "warmup": step < a.warmup, "ms": (t3 - t0) * 1e3, "fwd_ms": fwd_s * 1e3,
                          "bwd_ms": bwd_s * 1e3, "opt_ms": (t3 - t2) * 1e3, "cpu_ms": (time.process_time() - c0) * 1e3,
                          "loss": loss_value}), flush=True)
    print(json.dumps({"peak_rss_mib": peak_rss_mib(), "threads": torch.get_num_threads(),
                      "params": sum(p.numel() for p in params), "runtime": "PyTorch " + torch.__version__,
                      "blas": blas_libraries()}), flush=True)


if __name__ == "__main__":
    main()
