#!/usr/bin/env bash
# Configures and builds ecps (Release) into build/. Incremental: a second run only rebuilds
# what changed. Usage: scripts/build.sh [--target T] [extra cmake -D options]
#   --target T   build only target T (the README's main command builds `ecps` alone: no tests,
#                benchmarks or fuzz targets, a third of the objects)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
target=()
if [[ "${1:-}" == "--target" ]]; then
  target=(--target "$2")
  shift 2
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$jobs" "${target[@]}"
