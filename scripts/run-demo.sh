#!/usr/bin/env bash
# The README's first command: installs the dependencies, builds ecps and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
echo "== ecps demo: scheduler + 1 server + 2 workers as threads of one process"
build/ecps demo --local --servers 1 --workers 2
