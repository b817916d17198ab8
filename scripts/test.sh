#!/usr/bin/env bash
# scripts/test.sh: installs what the tests need, builds (Release) and runs the whole suite.
# This is the README's test command and what .ci/run calls. Extra arguments go to ctest.
# After ctest, the reliability step (docs/RELIABILITY.md): a bounded libFuzzer run of every reader
# under ASan + UBSan (scripts/fuzz.sh, DMA_FUZZ_SECONDS per target, default 10), which also
# replays every earlier crash input. DMA_SKIP_RELIABILITY=1 skips it. (The readers' bad-input
# tables under ASan: scripts/sanitize.sh, not run here for time.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
jobs=$(nproc)
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Release -DDMA_BUILD_BENCHMARKS=ON -DDMA_BUILD_EXAMPLES=ON
cmake --build build/test -j "$jobs"
ctest --test-dir build/test --output-on-failure -j "$jobs" "$@"
if [[ -z ${DMA_SKIP_RELIABILITY:-} ]]; then
  bash scripts/fuzz.sh "${DMA_FUZZ_SECONDS:-10}"
fi
