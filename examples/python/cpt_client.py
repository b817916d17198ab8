#!/usr/bin/python3
"""cpt_client.py: continual pre-training of a small byte-level torch LM, with the data mixture
of every stage chosen by the Data Mixing Agent served by `serve_agent` (JSON lines over a pipe).

The client is what a user's trainer does: it describes its domains once (hello), then after each
stage sends the per-domain held-out losses (feedback) and trains the next stage on the mixture
the agent replies with. Protocol: docs/SERVING.md.

    /usr/bin/python3 examples/python/cpt_client.py \
        --server build/release/examples/serve_agent --agent runs/x/agent/agent.dmaa \
        [--data .cache/dma-data] [--source fiction,legal,code] [--target math] \
        [--stages 8] [--steps 40] [--pretrain 150] [--target-weight 0.5] [--json out.json]

Needs torch (Debian: python3-torch) and the prepared corpus (scripts/prepare_data.sh).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time


def fail(msg, code=2):
    print(f"cpt_client: {msg}", file=sys.stderr)
    sys.exit(code)


def load_domain(data_dir, name, split, max_bytes):
    """Concatenated document bytes of corpus/<name>/<split>.jsonl, up to max_bytes."""
    path = os.path.join(data_dir, "corpus", name, f"{split}.jsonl")
    if not os.path.exists(path):
        fail(f"{path} is missing: prepare the corpus with scripts/prepare_data.sh "
             f"(or pass --data DIR holding corpus/<domain>/{{train,heldout}}.jsonl)")
    out = bytearray()
    with open(path, "rb") as f:
        for line in f:
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as e:
                fail(f"{path}: bad JSON line ({e})")
            out += doc["text"].encode("utf-8") + b"\n\n"
            if len(out) >= max_bytes:
                break
    if len(out) < 2048:
        fail(f"{path}: only {len(out)} bytes of text; expected a prepared corpus")
    return bytes(out[:max_bytes])


class Server:
    """serve_agent as a subprocess: one JSON request line in, one reply line out."""

    def __init__(self, argv):
        try:
            self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1)
        except OSError as e:
            fail(f"cannot start the agent server {argv[0]}: {e}")

    def ask(self, req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            fail(f"the agent server exited (code {self.p.poll()})")
        rep = json.loads(line)
        if rep.get("type") == "error":
            fail(f"the agent server refused {req.get('type')}: {rep['error']}")
        return rep

    def close(self):
        self.p.stdin.close()
        return self.p.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="path to the serve_agent program")
    ap.add_argument("--agent", required=True, help="agent checkpoint (.dmaa) to serve")
    ap.add_argument("--data", default=".cache/dma-data", help="prepared corpus directory")
    ap.add_argument("--source", default="fiction,legal,code", help="source domains (comma-separated)")
    ap.add_argument("--target", default="math", help="target domains (comma-separated)")
    ap.add_argument("--stages", type=int, default=8)
    ap.add_argument("--steps", type=int, default=40, help="optimizer steps per stage")
    ap.add_argument("--pretrain", type=int, default=150, help="steps of base training on the source domains")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-batches", type=int, default=4)
    ap.add_argument("--max-bytes", type=int, default=400_000, help="bytes read per domain and split")
    ap.add_argument("--target-weight", type=float, default=0.5)
    # One thread: on this small model a second torch thread mostly spins (measured 5x the CPU per step).
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the per-stage record here")
    args = ap.parse_args()

    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError:
        fail("torch is not importable; use Debian's /usr/bin/python3 with python3-torch installed", 77)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    names = [n for n in args.source.split(",") if n] + [n for n in args.target.split(",") if n]
    fields = ["source"] * len([n for n in args.source.split(",") if n]) + \
             ["target"] * len([n for n in args.target.split(",") if n])
    if len(names) < 2 or "target" not in fields or "source" not in fields:
        fail("need at least one source and one target domain")
    if not os.path.isdir(args.data):
        fail(f"data directory {args.data} not found: run scripts/prepare_data.sh first")
    train = [torch.frombuffer(bytearray(load_domain(args.data, n, "train", args.max_bytes)), dtype=torch.uint8).long()
             for n in names]
    held = [torch.frombuffer(bytearray(load_domain(args.data, n, "heldout", args.max_bytes // 4)), dtype=torch.uint8).long()
            for n in names]

    class Block(nn.Module):
        def __init__(self, d, heads=4):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class ByteLM(nn.Module):
        def __init__(self, d, layers, ctx):
            super().__init__()
            self.emb, self.pos = nn.Embedding(256, d), nn.Parameter(torch.zeros(ctx, d))
            self.blocks = nn.ModuleList(Block(d) for _ in range(layers))
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, 256)
            self.register_buffer("mask", torch.triu(torch.full((ctx, ctx), float("-inf")), 1))

        def forward(self, x):
            T = x.shape[1]
            h = self.emb(x) + self.pos[:T]
            for b in self.blocks:
                h = b(h, self.mask[:T, :T])
            return self.head(self.ln(h))

    gen = torch.Generator().manual_seed(args.seed)

    def batch(data, n):
        idx = torch.randint(0, len(data) - args.ctx - 1, (n,), generator=gen)
        x = torch.stack([data[i:i + args.ctx + 1] for i in idx.tolist()])
        return x[:, :-1], x[:, 1:]

    # Fixed evaluation batches per domain: losses are comparable across stages.
    eval_sets = []
    for h in held:
        g = torch.Generator().manual_seed(1234)
        idx = torch.randint(0, len(h) - args.ctx - 1, (args.eval_batches * args.batch,), generator=g)
        x = torch.stack([h[i:i + args.ctx + 1] for i in idx.tolist()])
        eval_sets.append((x[:, :-1], x[:, 1:]))

    model = ByteLM(args.d_model, args.layers, args.ctx)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)

    def train_steps(mix, steps):
        model.train()
        for _ in range(steps):
            # Each sequence's domain is drawn from the mixture.
            dom = torch.multinomial(torch.tensor(mix, dtype=torch.float), args.batch, replacement=True, generator=gen)
            xs, ys = [], []
            for d in range(len(names)):
                k = int((dom == d).sum())
                if k:
                    x, y = batch(train[d], k)
                    xs.append(x), ys.append(y)
            x, y = torch.cat(xs), torch.cat(ys)
            loss = F.cross_entropy(model(x).reshape(-1, 256), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    @torch.no_grad()
    def eval_losses():
        model.eval()
        out = []
        for x, y in eval_sets:
            ce = F.cross_entropy(model(x).reshape(-1, 256), y.reshape(-1))
            out.append(float(ce) / math.log(2))  # bits per byte
        return out

    def probes(losses):
        # Probe scores (higher is better) the agent also reads: minus the mean held-out loss per field.
        src = [l for l, f in zip(losses, fields) if f == "source"]
        tgt = [l for l, f in zip(losses, fields) if f == "target"]
        return [-sum(src) / len(src), -sum(tgt) / len(tgt)]

    t0 = time.time()
    # The base model: trained on the source domains only (what CPT starts from).
    n_src = fields.count("source")
    train_steps([1.0 / n_src if f == "source" else 0.0 for f in fields], args.pretrain)
    base = eval_losses()
    server = Server([args.server, "--agent", args.agent, "--quiet"])
    rep = server.ask({"type": "hello", "version": 1, "target_weight": args.target_weight, "stages": args.stages,
                      "domains": [{"name": n, "field": f} for n, f in zip(names, fields)],
                      "loss": base,
                      "probes": [{"name": "source_heldout", "field": "source"},
                                 {"name": "target_heldout", "field": "target"}],
                      "scores": probes(base)})
    print(f"base model ({args.pretrain} steps on the sources, {time.time() - t0:.1f} s): held-out bits/byte "
          + ", ".join(f"{n} {l:.3f}" for n, l in zip(names, base)))
    print(f"{'stage':>5}  " + "  ".join(f"{('w_' + n)[:10]:>10}" for n in names) + "  |  "
          + "  ".join(f"{('bpb_' + n)[:10]:>10}" for n in names))
    record = {"domains": names, "fields": fields, "base_loss": base, "stages": []}
    tokens = 0
    for stage in range(1, args.stages + 1):
        if rep.get("type") != "mixture" or rep.get("stage") != stage:
            fail(f"unexpected reply at stage {stage}: {rep}")
        mix = rep["mixture"]
        train_steps(mix, args.steps)
        tokens += args.steps * args.batch * args.ctx
        losses = eval_losses()
        print(f"{stage:>5}  " + "  ".join(f"{w:>10.3f}" for w in mix) + "  |  "
              + "  ".join(f"{l:>10.3f}" for l in losses))
        record["stages"].append({"stage": stage, "mixture": mix, "loss": losses})
        rep = server.ask({"type": "feedback", "loss": losses, "scores": probes(losses), "tokens": tokens})
    if rep.get("type") != "done":
        fail(f"expected 'done' after the last stage, got {rep}")
    code = server.close()
    src = [l for l, f in zip(record["stages"][-1]["loss"], fields) if f == "source"]
    tgt = [l for l, f in zip(record["stages"][-1]["loss"], fields) if f == "target"]
    b_src = [l for l, f in zip(base, fields) if f == "source"]
    b_tgt = [l for l, f in zip(base, fields) if f == "target"]
    record["summary"] = {"source_bpb_change": sum(src) / len(src) - sum(b_src) / len(b_src),
                         "target_bpb_change": sum(tgt) / len(tgt) - sum(b_tgt) / len(b_tgt),
                         "worst_source_change": max(a - b for a, b in zip(src, b_src)),
                         "seconds": time.time() - t0, "server_exit": code}
    print("done: source bits/byte {:+.3f} (worst domain {:+.3f}), target {:+.3f}; {:.1f} s".format(
        record["summary"]["source_bpb_change"], record["summary"]["worst_source_change"],
        record["summary"]["target_bpb_change"], record["summary"]["seconds"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
