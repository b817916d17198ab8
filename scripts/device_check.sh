#!/usr/bin/env bash
# scripts/device_check.sh: the whole GPU check in one run, for a bare CUDA machine with the repo
# copied over (nvcc, CMake, PyTorch with CUDA; our header-only deps come in
# third_party_device/usr, made by scripts/device_deps.sh and carried with the working tree).
# Builds only the CUDA parity tests and the CUDA benchmarks (-j16), runs the [cuda] tests, the
# benchmarks (bench_proxy_cuda; bench_env_cuda: one env::Cpt stage on the GPU and on the CPU) and
# a PyTorch eager peer of the 50M model on the same GPU, and writes 10 files under $OUT (default
# ./out_device): steps.log (machine, stages, exit codes), build.log, parity_cuda_ops.log,
# parity_cuda_model.log, parity_cuda_flash.log, parity_cuda_env.log, bench.jsonl (ours + the
# PyTorch peer, one JSON object per line), bench.err, bench_env.jsonl, summary.json (pass/fail,
# MFU, ratios, env stage times). Each stage has a time cap so that the whole run stays under DMA_CHECK_BUDGET_S
# (default 175 s; device time is scarce).
#   usage: OUT=/some/dir bash scripts/device_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/out_device}
mkdir -p "$OUT"
T0=$(date +%s)
BUDGET=${DMA_CHECK_BUDGET_S:-240}
log() { echo "[device_check +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/steps.log"; }
# cap <seconds>: the smaller of a stage's cap and what is left of the budget (at least 5 s)
cap() { local left=$(( BUDGET - ($(date +%s) - T0) )); (( left < $1 )) && echo $(( left > 5 ? left : 5 )) || echo "$1"; }
status() { echo "status $1=$2" >> "$OUT/steps.log"; }
: > "$OUT/steps.log"

P=$ROOT/third_party_device/usr
if [[ ! -d $P/include ]]; then
  log "third_party_device/usr is missing: run scripts/device_deps.sh where the -dev packages are, and carry it"
  status deps missing
  exit 2
fi
{ nvidia-smi; nvcc --version; cmake --version; git log -1 --format='commit %H %s'; } >> "$OUT/steps.log" 2>&1
GEN=(); command -v ninja > /dev/null && GEN=(-G Ninja)

BUILD=$ROOT/build/device
log "configure"
timeout "$(cap 40)" cmake "${GEN[@]}" -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$P" -DZLIB_ROOT="$P/lib/zlib" \
  -DDMA_ENABLE_MPI=OFF -DDMA_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DDMA_BUILD_EXAMPLES=OFF -DDMA_BUILD_BENCHMARKS=ON -DDMA_BUILD_TESTS=ON > "$OUT/build.log" 2>&1
rc=$?; status configure $rc
if (( rc != 0 )); then log "configure failed (rc $rc): $OUT/build.log"; tail -30 "$OUT/build.log"; exit 1; fi

log "build (parity tests + benchmarks, -j16)"
timeout "$(cap 150)" cmake --build "$BUILD" -j16 --target parity_cuda_ops parity_cuda_model parity_cuda_flash \
  parity_cuda_env bench_proxy_cuda bench_env_cuda \
  >> "$OUT/build.log" 2>&1
rc=$?; status build $rc
if (( rc != 0 )); then log "build failed (rc $rc): $OUT/build.log"; grep -E "error" -A3 "$OUT/build.log" | head -40; exit 1; fi

log "parity tests [cuda]"
for t in cuda_flash cuda_ops cuda_model cuda_env; do
  timeout "$(cap 40)" "$BUILD/tests/parity_$t" -r compact -d yes > "$OUT/parity_$t.log" 2>&1
  rc=$?; status "parity_$t" $rc
  log "parity_$t: rc $rc ($(grep -E '^(Passed|test cases)' "$OUT/parity_$t.log" | tail -n 1))"
done

log "benchmark bench_proxy_cuda"
timeout "$(cap 45)" "$BUILD/benchmarks/bench_proxy_cuda" > "$OUT/bench.jsonl" 2> "$OUT/bench.err"
rc=$?; status bench $rc
cat "$OUT/bench.jsonl"

log "benchmark bench_env_cuda (one env::Cpt stage: GPU 0.8M/10M/50M, CPU 0.8M)"
timeout "$(cap 50)" "$BUILD/benchmarks/bench_env_cuda" > "$OUT/bench_env.jsonl" 2>> "$OUT/bench.err"
rc=$?; status bench_env $rc
cat "$OUT/bench_env.jsonl"

log "PyTorch peer (eager, TF32 allowed, the 50M preset)"
timeout "$(cap 35)" python3 - "$ROOT/scripts/bench_proxy_torch.py" >> "$OUT/bench.jsonl" 2>> "$OUT/bench.err" <<'PY'
import importlib.util, json, sys, time
import torch
spec = importlib.util.spec_from_file_location("peer", sys.argv[1])
peer = importlib.util.module_from_spec(spec); spec.loader.exec_module(peer)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
dev = torch.device("cuda")
# the 50M preset of benchmarks/bench_proxy_cuda.cu: name, C, L, NH, T, B, steps
for name, C, L, NH, T, B, steps in [("50M", 768, 7, 12, 256, 128, 12)]:
    V = 259
    torch.manual_seed(1)
    m = peer.Proxy(V, C, L, NH, T).to(dev)
    decay = [p for p in m.parameters() if p.dim() == 2]
    rest = [p for p in m.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}]
    try:
        opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.95), eps=1e-8, fused=True); fused = True
    except Exception:
        opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.95), eps=1e-8); fused = False
    data = torch.randint(0, 256, (4, B, T + 1), device=dev)
    def step(s):
        d = data[s % 4]
        opt.zero_grad(set_to_none=True)
        loss = m(d[:, :T], d[:, 1:]); loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
        return loss.item()  # a host sync per step, as in the C++ step
    for s in range(3): step(s)
    torch.cuda.synchronize(); t0 = time.perf_counter()
    for s in range(steps): loss = step(s)
    torch.cuda.synchronize(); dt = time.perf_counter() - t0
    H = peer.hidden_size(C); N = B * T
    fwd = 2.0 * (L * (4 * C * C + 3 * C * H) + V * C) * N + 4.0 * L * C * T * N
    tf = 3 * fwd * steps / dt / 1e12
    print(json.dumps({"bench": "proxy_torch_cuda", "torch": torch.__version__, "model": name,
                      "params": sum(p.numel() for p in m.parameters()), "ctx": T, "batch": B,
                      "math": "tf32", "fused_adamw": fused, "step_ms": dt / steps * 1e3,
                      "tokens_per_s": steps * N / dt, "model_tflops": tf, "mfu": tf / 494.0,
                      "loss_last": loss}), flush=True)
    del m, opt, data; torch.cuda.empty_cache()
PY
rc=$?; status torch_peer $rc
grep proxy_torch_cuda "$OUT/bench.jsonl"

log "summary"
python3 - "$OUT" <<'PY' | tee "$OUT/summary.json"
import json, os, sys
out = sys.argv[1]
st = dict(l[7:].strip().split("=", 1) for l in open(os.path.join(out, "steps.log")) if l.startswith("status "))
p = os.path.join(out, "bench.jsonl")
rows = [json.loads(l) for l in open(p) if l.startswith("{")] if os.path.exists(p) else []
ours = [r for r in rows if r["bench"] == "proxy_cuda"]
torch_rows = {r["model"]: r for r in rows if r["bench"] == "proxy_torch_cuda"}
models = {}
for r in ours:
    key = r["model"] + ("" if r["math"] == "tf32" else "_fp32") + ("" if r.get("attention", "flash") == "flash" else "_materialized")
    e = {"params": r["params"], "math": r["math"], "tokens_per_s": r["tokens_per_s"],
         "model_tflops": r["model_tflops"], "mfu_tf32_peak": r["mfu"]}
    t = torch_rows.get(r["model"])
    if t and r["math"] == "tf32" and r.get("attention") == "flash":
        e["torch_tokens_per_s"] = t["tokens_per_s"]
        e["ratio_vs_torch"] = r["tokens_per_s"] / t["tokens_per_s"]
    models[key] = e
big = models.get("50M", {})
print(json.dumps({"status": st,
                  "parity_pass": all(st.get("parity_" + t) == "0" for t in ("cuda_ops", "cuda_model", "cuda_flash", "cuda_env")),
                  "env_stage": [json.loads(l) for l in open(os.path.join(out, "bench_env.jsonl")) if l.startswith("{")]
                  if os.path.exists(os.path.join(out, "bench_env.jsonl")) else [],
                  "mfu_50M": big.get("mfu_tf32_peak"), "mfu_50M_ge_0.30": (big.get("mfu_tf32_peak") or 0) >= 0.30,
                  "mfu_50M_ctx128": models.get("50M-ctx128", {}).get("mfu_tf32_peak"),
                  "mfu_50M_materialized": models.get("50M_materialized", {}).get("mfu_tf32_peak"),
                  "phases": [r for r in rows if r["bench"] == "proxy_cuda_phases"],
                  "models": models}, indent=1))
PY
log "done"
