#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets of tests/fuzz with clang
# (ASan + UBSan) in build/fuzz and runs each for SECONDS (default 60), two at a time per core
# pair, from the seeds make_seeds writes plus the corpus kept from earlier runs. A crash input is
# copied to tests/fuzz/regressions/<target>/ (commit it with the fix: every later fuzz.sh run
# replays it under ASan + UBSan, and so does the g++ test reliability_fuzz_replay in ctest) and the
# script exits 1. Needs `scripts/setup.sh test`
# (clang, libclang-rt-14-dev). Prints one line per target: runs, seconds, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (run scripts/setup.sh test)" >&2; exit 1; }

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
B=build/fuzz
if [[ ! -f $B/CMakeCache.txt ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DDMA_BUILD_FUZZ=ON \
    -DDMA_BUILD_EXAMPLES=OFF -DDMA_BUILD_BENCHMARKS=OFF -DDMA_ENABLE_CUDA=OFF -DDMA_ENABLE_MPI=OFF >/dev/null
fi
t0=$(date +%s)
cmake --build "$B" -j "$(nproc)" --target make_seeds "${targets[@]}"
echo "fuzz.sh: built ${#targets[@]} targets in $(( $(date +%s) - t0 )) s"
rm -rf "$B/seeds"
"$B/tests/make_seeds" "$B/seeds"

run_one() {  # target -> log in $B/logs/<target>.log, crash files in $B/crashes/<target>/
  local t=$1 name=${1#fuzz_}
  mkdir -p "$B/corpus/$t" "$B/crashes/$t" "$B/logs"
  rm -f "$B/crashes/$t"/*
  local seeds=()
  [[ -d $B/seeds/$name ]] && seeds=("$B/seeds/$name")
  # Earlier crash inputs run first (libFuzzer executes every input of its corpus directories), so
  # each fixed crash is replayed under ASan + UBSan too; new inputs go to the first directory only.
  [[ -d tests/fuzz/regressions/$t ]] && seeds+=("tests/fuzz/regressions/$t")
  # -rss/-malloc limits: a reader that allocates what a hostile count asks for is a bug too.
  "$B/tests/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$B/crashes/$t/" "$B/corpus/$t" "${seeds[@]}" \
    >"$B/logs/$t.log" 2>&1 || true
}
t1=$(date +%s)
jobs_max=$(nproc)
for t in "${targets[@]}"; do
  while (( $(jobs -rp | wc -l) >= jobs_max )); do sleep 0.2; done
  run_one "$t" &
done
wait

status=0
for t in "${targets[@]}"; do
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/logs/$t.log" | grep -o '[0-9]*$' || echo "?")
  crashes=$(find "$B/crashes/$t" -type f | wc -l)
  echo "fuzz.sh: $t: ${secs} s, ${runs} runs, ${crashes} crashes"
  if ((crashes > 0)); then
    status=1
    mkdir -p "tests/fuzz/regressions/$t"
    cp "$B/crashes/$t"/* "tests/fuzz/regressions/$t/"
    grep -m3 -E 'ERROR|SUMMARY|terminate|what\(\)' "$B/logs/$t.log" || true
    echo "fuzz.sh: $t: crash inputs copied to tests/fuzz/regressions/$t/ (log: $B/logs/$t.log)"
  fi
done
echo "fuzz.sh: ran ${#targets[@]} targets in $(( $(date +%s) - t1 )) s"
exit $status
