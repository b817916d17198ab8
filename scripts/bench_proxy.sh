#!/usr/bin/env bash
# scripts/bench_proxy.sh: the proxy's CPU training throughput against PyTorch 1.13 + OpenBLAS,
# measured interleaved in one run (ours, peer, ours, peer, ...) because this machine is shared
# and absolute times are noisy. Prints every measurement as a JSON line, then a summary of
# medians and ratios (the acceptance numbers of issue #3).
#   usage: scripts/bench_proxy.sh [reps]      (env: BUILD=build/model, PY=/usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
bin=${BUILD:-build/model}/benchmarks/bench_proxy
py=${PY:-/usr/bin/python3}
[[ -x $bin ]] || { echo "bench_proxy.sh: $bin not built (cmake --build ${BUILD:-build/model} --target bench_proxy)" >&2; exit 2; }
log=$(mktemp)
# vocab d_model layers heads ctx batch threads steps
configs=("256 64 2 4 64 16 1 20" "256 128 4 4 128 16 1 8" "256 128 4 4 128 16 2 8" "256 256 4 4 128 16 1 4")
for ((r = 0; r < reps; ++r)); do
  for c in "${configs[@]}"; do
    read -r V C L H T B TH S <<<"$c"
    flags="--vocab $V --d-model $C --layers $L --heads $H --ctx $T --batch $B --threads $TH --steps $S"
    "$bin" $flags | tee -a "$log"
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$TH "$py" scripts/bench_proxy_torch.py $flags | tee -a "$log"
  done
done
"$py" - "$log" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
med = {}
for r in rows:
    med.setdefault((r["impl"], r["d_model"], r["threads"]), []).append(r)
def m(impl, C, th, key="tokens_per_s"):
    v = [r[key] for r in med.get((impl, C, th), [])]
    return statistics.median(v) if v else float("nan")
out = {
  "d64_1t_vs_torch": m("dma", 64, 1) / m("torch", 64, 1),
  "d128_1t_vs_torch": m("dma", 128, 1) / m("torch", 128, 1),
  "d128_2t_vs_torch_2t": m("dma", 128, 2) / m("torch", 128, 2),
  "d128_2t_vs_ours_1t": m("dma", 128, 2) / m("dma", 128, 1),
  "d256_1t_vs_torch": m("dma", 256, 1) / m("torch", 256, 1),
  "d256_1t_peak_fraction": m("dma", 256, 1, "peak_fraction"),
  "d256_1t_gflops": m("dma", 256, 1, "gflops"),
  "sgemm_peak_gflops_1thread": statistics.median(r["sgemm_peak_gflops_1thread"] for r in rows if r["impl"] == "dma"),
  "median_tokens_per_s": {f"{k[0]}_d{k[1]}_{k[2]}t": m(*k) for k in sorted(med)},
  "reps": len(med.get(("dma", 64, 1), [])),
}
print(json.dumps(out, indent=1))
PYEOF
rm -f "$log"
