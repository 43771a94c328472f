#!/usr/bin/env bash
# The README's second command: installs the dependencies, builds ecps with its tests and runs
# the whole suite with ctest (unit, in-process cluster, mpirun and Slurm tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DECPS_WERROR=ON
cd build
ctest -j"$(nproc 2>/dev/null || echo 2)" --output-on-failure --timeout 600
