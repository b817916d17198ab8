#!/usr/bin/env bash
# scripts/bench_proxy.sh: the proxy's CPU training throughput against PyTorch 1.13 + OpenBLAS,
# measured interleaved in one run (ours, peer, ours, peer, ...) because this machine is shared
# and absolute times are noisy. Prints every measurement as a JSON line, then a summary of
# medians and ratios (the proxy throughput against the PyTorch peer).
#   usage: scripts/bench_proxy.sh [reps]      (env: BUILD=build/model, PY=/usr/bin/python3)
#          scripts/bench_proxy.sh scaling [reps]
#   "scaling": only ours at d128 (vocab 256, 4 layers, ctx 128, batch 16), interleaved: 1 thread,
#   2 threads, 2 threads with the old serial optimizer (--serial-opt), and two independent 1-thread
#   processes at once (what 2 cores give two jobs that share nothing: the hardware ceiling of
#   2-thread scaling); medians, ratios and phase times.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BUILD:-build/model}/benchmarks/bench_proxy
py=${PY:-/usr/bin/python3}
[[ -x $bin ]] || { echo "bench_proxy.sh: $bin not built (cmake --build ${BUILD:-build/model} --target bench_proxy)" >&2; exit 2; }
if [[ ${1:-} == scaling ]]; then
  reps=${2:-5}
  flags="--vocab 256 --d-model 128 --layers 4 --heads 4 --ctx 128 --batch 16 --steps 12 --no-peak"
  log=$(mktemp)
  for ((r = 0; r < reps; ++r)); do
    "$bin" $flags --threads 1 | sed 's/^{/{"run":"1t",/' | tee -a "$log"
    "$bin" $flags --threads 2 | sed 's/^{/{"run":"2t",/' | tee -a "$log"
    "$bin" $flags --threads 2 --serial-opt true | sed 's/^{/{"run":"2t_serial_opt",/' | tee -a "$log"
    a=$(mktemp); b=$(mktemp)
    "$bin" $flags --threads 1 >"$a" & "$bin" $flags --threads 1 >"$b"; wait
    sed 's/^{/{"run":"2x1t",/' "$a" "$b" | tee -a "$log"
    rm -f "$a" "$b"
  done
  "$py" - "$log" "$reps" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(run, f=lambda r: r["tokens_per_s"]):
    v = [f(r) for r in rows if r["run"] == run]
    return statistics.median(v) if v else float("nan")
one, two, pair, old = med("1t"), med("2t"), med("2x1t"), med("2t_serial_opt")
ph = lambda run, k: med(run, lambda r: r["phases"][k])
out = {"tokens_per_s_1t": one, "tokens_per_s_2t": two, "ratio_2t_vs_1t": two / one,
       "ratio_2t_serial_optimizer_vs_1t": old / one,
       "ceiling_two_1t_processes_vs_one": 2 * pair / one,
       "phases_ms_1t": {k: ph("1t", k) for k in ("forward_ms", "backward_ms", "reduce_ms", "optimizer_ms", "zero_ms", "other_ms")},
       "phases_ms_2t": {k: ph("2t", k) for k in ("forward_ms", "backward_ms", "reduce_ms", "optimizer_ms", "zero_ms", "other_ms")},
       "phases_ms_2t_serial_opt": {k: ph("2t_serial_opt", k) for k in ("forward_ms", "backward_ms", "reduce_ms", "optimizer_ms", "zero_ms", "other_ms")},
       "busy_ms_2t": {k: [med("2t", lambda r, i=i: r["phases"][k][i]) for i in range(2)] for k in ("busy_forward_ms", "busy_backward_ms")},
       "reps": int(sys.argv[2])}
print(json.dumps(out, indent=1))
PYEOF
  rm -f "$log"
  exit 0
fi
reps=${1:-3}
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
