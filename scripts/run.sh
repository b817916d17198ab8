#!/usr/bin/env bash
# scripts/run.sh [PRESET] [options...]: installs what the main job needs, builds it (Release)
# and runs it. Every stage is cached under out/: rerunning skips finished work.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DDMA_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target quickstart_sim
exec build/release/examples/quickstart_sim --out out/quickstart_sim "$@"
