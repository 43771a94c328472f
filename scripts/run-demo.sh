#!/usr/bin/env bash
# The README's first command: installs the dependencies, builds ecps and runs the main job —
# the shop pipeline on a generated demo shop (examples/demo.toml) in single-node mode:
# segments (k-means), item neighbours and recommendations (item-CF), a click model (logistic
# regression); outputs, summary.md and manifest.json in demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target ecps   # the main job needs only the ecps binary
build/ecps pipeline --config examples/demo.toml --out demo-out
echo "== done: demo-out/summary.md"
