#!/usr/bin/env bash
# scripts/sanitize.sh [TEST...]: builds unit tests with AddressSanitizer + UndefinedBehaviorSanitizer
# (g++, -fno-sanitize-recover=all: the first report fails the test) in build/asan and runs them.
# Default (what CI runs, ~3 CPU-minutes to build): the table-driven bad-input tests of every
# reader (configs, manifests, shards, checkpoints, stores, agents, benchmarks, env::Cpt) and
# the fuzz regressions; `scripts/sanitize.sh all` builds every unit test (slow), or name tests.
set -euo pipefail
cd "$(dirname "$0")/.."
default=(reliability_readers reliability_fuzz_replay)
if [[ ${1:-} == all ]]; then
  tests=()
  for f in tests/unit/*.cpp; do tests+=("$(basename "$f" .cpp)"); done
elif (($# > 0)); then
  tests=("$@")
else
  tests=("${default[@]}")
fi
B=build/asan
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DDMA_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=all" -DDMA_BUILD_EXAMPLES=OFF -DDMA_BUILD_BENCHMARKS=OFF \
  -DDMA_ENABLE_CUDA=OFF -DDMA_ENABLE_MPI=OFF >/dev/null
t0=$(date +%s)
cmake --build "$B" -j "$(nproc)" --target "${tests[@]/#/unit_}"
echo "sanitize.sh: built ${#tests[@]} tests in $(( $(date +%s) - t0 )) s"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
t1=$(date +%s)
status=0
for t in "${tests[@]}"; do
  if "$B/tests/unit_$t" >"$B/$t.log" 2>&1; then
    echo "sanitize.sh: $t: ok ($(grep -Eo 'All tests passed.*' "$B/$t.log" || tail -1 "$B/$t.log"))"
  else
    status=1
    echo "sanitize.sh: $t: FAILED (log: $B/$t.log)"
    grep -m5 -E 'ERROR: AddressSanitizer|runtime error|FAILED|SUMMARY' "$B/$t.log" || tail -20 "$B/$t.log"
  fi
done
echo "sanitize.sh: ran ${#tests[@]} tests in $(( $(date +%s) - t1 )) s"
exit $status
