#!/usr/bin/env bash
# scripts/run.sh [quick|small|full|long] [experiment options...]: the main job. Installs what it
# needs (scripts/setup.sh run), builds the programs (Release, build/release), prepares the data
# (scripts/prepare_data.sh: corpora + per-source shards; GSM8K train when ../shared/data/gsm8k
# exists, else generated math problems from examples/gen_math), then runs
#   build/release/examples/experiment --preset PRESET --out out/PRESET
# which writes out/PRESET/results.json, results.md and plots/. Every stage is cached: rerunning
# skips finished work (data stamps, cached base models, out/PRESET/stages, runs, settings).
# `scripts/run.sh sim` runs the simulated quickstart instead (seconds, no data needed).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="quick"
if (($#)) && [[ $1 != --* ]]; then preset="$1"; shift; fi
t0=$SECONDS
bash scripts/setup.sh run
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DDMA_BUILD_TESTS=OFF >/dev/null
if [[ $preset == sim ]]; then
  cmake --build build/release -j "$(nproc)" --target quickstart_sim
  exec build/release/examples/quickstart_sim --out out/quickstart_sim "$@"
fi
[[ -f examples/presets/experiment-$preset.json ]] ||
  { echo "run.sh: unknown preset '$preset' (examples/presets/experiment-$preset.json)" >&2; exit 2; }
cmake --build build/release -j "$(nproc)" --target experiment build_shards gen_math
echo "run.sh: built in $((SECONDS - t0)) s" >&2

data_args=(--shards build/release)
if [[ ! -d ../shared/data/gsm8k ]]; then
  # No GSM8K on this machine: the math target domain is generated (data/mathgen.hpp).
  gen=.cache/dma-data/gen_math
  [[ -f $gen/train.jsonl ]] || build/release/examples/gen_math --out "$gen" --n_train 8000 --n_test 500 --n_test_ood 100
  data_args+=(--math-cmd "cat $gen/train.jsonl")
fi
t1=$SECONDS
bash scripts/prepare_data.sh "${data_args[@]}"
echo "run.sh: data ready in $((SECONDS - t1)) s" >&2

t2=$SECONDS
build/release/examples/experiment --preset "$preset" --out "out/$preset" "$@"
echo "run.sh: experiment $((SECONDS - t2)) s; total $((SECONDS - t0)) s" >&2
