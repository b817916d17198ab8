#!/usr/bin/env python3
"""PyTorch peer of benchmarks/bench_proxy.cpp: the same LLaMA-style proxy (RMSNorm, rotary
embeddings, causal attention, SwiGLU, untied embeddings, AdamW + clipping) trained at the same
config, printing one JSON object (tokens_per_s, gflops with the same FLOP count, params).
Run with Debian's python (torch 1.13 + OpenBLAS); BLAS gets one thread, torch gets --threads:

    /usr/bin/python3 scripts/bench_proxy_torch.py --vocab 256 --d-model 128 --layers 4 \
        --heads 4 --ctx 128 --batch 16 --threads 1 --steps 20
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def hidden_size(C):
    h = math.ceil(8.0 / 3.0 * C - 1e-9)
    return (h + 7) // 8 * 8


class RMSNorm(nn.Module):
    def __init__(self, C, eps=1e-5):
        super().__init__()
        self.w = nn.Parameter(torch.ones(C))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


class Block(nn.Module):
    def __init__(self, C, NH, H):
        super().__init__()
        self.C, self.NH, self.H = C, NH, H
        self.n1, self.n2 = RMSNorm(C), RMSNorm(C)
        self.qkv = nn.Linear(C, 3 * C, bias=False)
        self.o = nn.Linear(C, C, bias=False)
        self.gu = nn.Linear(C, 2 * H, bias=False)
        self.down = nn.Linear(H, C, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        hs = C // self.NH
        q, k, v = self.qkv(self.n1(x)).split(C, dim=-1)
        q = q.view(B, T, self.NH, hs).transpose(1, 2)
        k = k.view(B, T, self.NH, hs).transpose(1, 2)
        v = v.view(B, T, self.NH, hs).transpose(1, 2)
        half = hs // 2
        q = torch.cat([q[..., :half] * cos - q[..., half:] * sin, q[..., half:] * cos + q[..., :half] * sin], -1)
        k = torch.cat([k[..., :half] * cos - k[..., half:] * sin, k[..., half:] * cos + k[..., :half] * sin], -1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.o(y)
        g, u = self.gu(self.n2(x)).split(self.H, dim=-1)
        return x + self.down(F.silu(g) * u)


class Proxy(nn.Module):
    def __init__(self, V, C, L, NH, T):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        H = hidden_size(C)
        self.blocks = nn.ModuleList([Block(C, NH, H) for _ in range(L)])
        self.nf = RMSNorm(C)
        self.head = nn.Linear(C, V, bias=False)
        hs = C // NH
        i = torch.arange(hs // 2, dtype=torch.float64)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * (10000.0 ** (-2.0 * i / hs))[None, :]
        self.register_buffer("cos", torch.cos(ang).float())
        self.register_buffer("sin", torch.sin(ang).float())
        self.register_buffer("mask", ~torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, idx, tgt):
        x = self.wte(idx)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        logits = self.head(self.nf(x))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    for k, v in [("vocab", 256), ("d-model", 128), ("layers", 4), ("heads", 4), ("ctx", 128),
                 ("batch", 16), ("threads", 1), ("steps", 20), ("warmup", 3)]:
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    V, C, L, NH, T, B = a.vocab, a.d_model, a.layers, a.heads, a.ctx, a.batch
    m = Proxy(V, C, L, NH, T)
    decay = [p for n, p in m.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in m.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    data = torch.randint(0, V, (8, B, T + 1))

    def step(s):
        d = data[s % 8]
        opt.zero_grad(set_to_none=True)
        loss = m(d[:, :T], d[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return loss.item()

    for s in range(a.warmup):
        step(s)
    t0 = time.perf_counter()
    for s in range(a.steps):
        loss = step(s)
    dt = time.perf_counter() - t0
    H = hidden_size(C)
    N = B * T
    fwd = 2.0 * (L * (4 * C * C + 3 * C * H) + V * C) * N + 4.0 * L * C * T * N  # = Llama::forward_flops
    params = sum(p.numel() for p in m.parameters())
    print(json.dumps({"impl": "torch", "torch": torch.__version__, "vocab": V, "d_model": C, "layers": L,
                      "heads": NH, "ctx": T, "batch": B, "threads": a.threads, "steps": a.steps,
                      "params": params, "seconds": dt, "step_ms": dt / a.steps * 1e3,
                      "tokens_per_s": a.steps * N / dt, "gflops": 3 * fwd * a.steps / dt / 1e9,
                      "final_loss": loss}))


if __name__ == "__main__":
    main()
