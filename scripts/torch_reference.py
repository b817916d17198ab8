#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures of the LLM proxy (llm.c style).

Builds the same LLaMA-style architecture as include/dma/model/llama.hpp (RMSNorm, rotary
embeddings with rotate-half pairing, causal attention, SwiGLU, optional tied embeddings) in
float64 from weights drawn here, and writes, per tiny config, a framed binary fixture:
the config, the weights in dma's flat parameter layout (model/config.hpp), the token batches,
the logits, the mean loss and every parameter gradient of batch 0, and the losses of 10
AdamW steps (clip_grad_norm_, warmup + cosine LR). tests/reference/model_torch_parity.cpp
compares the C++ model against it. Run with Debian's python (torch 1.13):

    /usr/bin/python3 scripts/torch_reference.py tests/data

Fixture framing = dma::io::frame: magic "DMAPXREF", u32 version, u64 payload length,
payload, u32 CRC-32 (zlib) of the payload; all little-endian.
"""
import math
import struct
import sys
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

MAGIC = b"DMAPXREF"
VERSION = 1


def hidden_size(C, ratio=8.0 / 3.0):
    h = math.ceil(ratio * C - 1e-9)
    return (h + 7) // 8 * 8


def layout(cfg):
    """(name, shape) in dma's flat order; per-layer tensors are [L, rows, cols]."""
    V, C, L, H = cfg["V"], cfg["C"], cfg["L"], cfg["H"]
    out = [("wte", (V, C)), ("attn_norm", (L, C)), ("wqkv", (L, 3 * C, C)), ("wo", (L, C, C)),
           ("mlp_norm", (L, C)), ("w_gate_up", (L, 2 * H, C)), ("w_down", (L, C, H)),
           ("final_norm", (C,))]
    if not cfg["tied"]:
        out.append(("lm_head", (V, C)))
    return out


def make_params(cfg, gen):
    p = {}
    for name, shape in layout(cfg):
        if "norm" in name:  # gains near 1, not exactly 1, so their gradients are exercised
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            t = 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        # round to float32 so that both sides start from identical weights
        p[name] = t.float().double().requires_grad_(True)
    return p


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_tables(T, hs, theta):
    half = hs // 2
    i = torch.arange(half, dtype=torch.float64)
    freq = theta ** (-2.0 * i / hs)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * freq[None, :]
    # the C++ side stores float32 tables
    return torch.cos(ang).float().double(), torch.sin(ang).float().double()


def rope(x, cos, sin):  # x [B, NH, T, hs]
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def forward(cfg, p, idx):
    B, T = idx.shape
    C, L, NH, H = cfg["C"], cfg["L"], cfg["NH"], cfg["H"]
    hs = C // NH
    cos, sin = rope_tables(T, hs, cfg["theta"])
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    x = p["wte"][idx]
    for l in range(L):
        h = rmsnorm(x, p["attn_norm"][l], cfg["eps"])
        qkv = h @ p["wqkv"][l].T
        q, k, v = qkv.split(C, dim=-1)
        q = rope(q.view(B, T, NH, hs).transpose(1, 2), cos, sin)
        k = rope(k.view(B, T, NH, hs).transpose(1, 2), cos, sin)
        v = v.view(B, T, NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p["wo"][l].T
        h = rmsnorm(x, p["mlp_norm"][l], cfg["eps"])
        g, u = (h @ p["w_gate_up"][l].T).split(H, dim=-1)
        x = x + (F.silu(g) * u) @ p["w_down"][l].T
    h = rmsnorm(x, p["final_norm"], cfg["eps"])
    head = p["wte"] if cfg["tied"] else p["lm_head"]
    return h @ head.T


def lr_at(step, peak, warmup, total, min_ratio):  # = dma::model::LrSchedule::warmup_cosine
    if step < warmup:
        return peak * (step + 1) / warmup
    prog = min(1.0, (step - warmup) / max(1, total - warmup))
    lo = min_ratio * peak
    return lo + (peak - lo) * 0.5 * (1 + math.cos(math.pi * prog))


def build(cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    p = make_params(cfg, gen)
    names = [n for n, _ in layout(cfg)]
    flat0 = torch.cat([p[n].detach().reshape(-1) for n in names]).float()
    B, T, V, S = cfg["B"], cfg["T"], cfg["V"], cfg["steps"]
    # Token batches with some structure (a noisy repeating pattern) so that training moves.
    base = torch.randint(0, V, (S, B, T + 1), generator=gen)
    pat = (torch.arange(T + 1) * 7 % 31)[None, None, :].expand(S, B, T + 1)
    keep = torch.rand(S, B, T + 1, generator=gen) < 0.5
    tokens = torch.where(keep, pat, base)

    # batch 0: logits, loss, gradients
    logits = forward(cfg, p, tokens[0, :, :T])
    loss = F.cross_entropy(logits.reshape(-1, V), tokens[0, :, 1:].reshape(-1))
    loss.backward()
    grads = torch.cat([p[n].grad.reshape(-1) for n in names]).float()
    for n in names:
        p[n].grad = None

    # 10 AdamW steps, one batch each, LR warmup + cosine, global-norm clipping
    opt_cfg = dict(peak=1e-2, warmup=3, min_ratio=0.1, b1=0.9, b2=0.95, eps=1e-8, wd=0.1, clip=1.0)
    decay = [p[n] for n in names if "norm" not in n]
    no_decay = [p[n] for n in names if "norm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": opt_cfg["wd"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=opt_cfg["peak"], betas=(opt_cfg["b1"], opt_cfg["b2"]), eps=opt_cfg["eps"])
    losses = []
    for s in range(S):
        for g in opt.param_groups:
            g["lr"] = lr_at(s, opt_cfg["peak"], opt_cfg["warmup"], S, opt_cfg["min_ratio"])
        opt.zero_grad()
        lg = forward(cfg, p, tokens[s, :, :T])
        l = F.cross_entropy(lg.reshape(-1, V), tokens[s, :, 1:].reshape(-1))
        l.backward()
        torch.nn.utils.clip_grad_norm_([p[n] for n in names], opt_cfg["clip"])
        opt.step()
        losses.append(l.item())

    pay = bytearray()
    pay += struct.pack("<9I", V, cfg["C"], cfg["L"], cfg["NH"], T, B, cfg["H"], cfg["tied"], S)
    pay += struct.pack("<2f", cfg["eps"], cfg["theta"])
    pay += struct.pack("<fIf5f", opt_cfg["peak"], opt_cfg["warmup"], opt_cfg["min_ratio"],
                       opt_cfg["b1"], opt_cfg["b2"], opt_cfg["eps"], opt_cfg["wd"], opt_cfg["clip"])
    pay += struct.pack("<Q", flat0.numel())
    pay += flat0.numpy().astype("<f4").tobytes()
    pay += tokens.numpy().astype("<u2").tobytes()
    pay += logits.detach().float().numpy().astype("<f4").tobytes()
    pay += struct.pack("<f", loss.item())
    pay += grads.numpy().astype("<f4").tobytes()
    pay += struct.pack(f"<{S}f", *losses)
    out = MAGIC + struct.pack("<IQ", VERSION, len(pay)) + bytes(pay) + struct.pack("<I", zlib.crc32(bytes(pay)))
    return out, loss.item(), losses


def main():
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data")
    outdir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    configs = {
        "proxy_ref_untied.bin": dict(V=259, C=32, L=2, NH=4, T=16, B=4, tied=0, eps=1e-5, theta=10000.0, steps=10),
        "proxy_ref_tied.bin": dict(V=259, C=16, L=1, NH=2, T=8, B=3, tied=1, eps=1e-5, theta=10000.0, steps=10),
    }
    for i, (fname, cfg) in enumerate(configs.items()):
        cfg["H"] = hidden_size(cfg["C"])
        data, loss, losses = build(cfg, seed=1234 + i)
        (outdir / fname).write_bytes(data)
        print(f"{fname}: {len(data)} bytes, loss {loss:.6f}, 10-step losses {[round(x, 4) for x in losses]}")


if __name__ == "__main__":
    main()
