#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of ecps from Debian 12 packages.
# Idempotent: when every package is already installed it returns in well under a second.
# Usage: scripts/install-deps.sh [--with-bench]   (as root, or with sudo available)
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config procps
  libopenmpi-dev openmpi-bin
  libboost-dev libcereal-dev libeigen3-dev libtbb-dev
  libgtest-dev libgmock-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  # differential-privacy noise (ChaCha20), pseudonymised ids (HMAC-SHA-256)
  libssl-dev
  # the report test renders the pipeline's report.html and takes a screenshot (headless)
  chromium
  # gzip-compressed input files (util/input_file.cc)
  zlib1g-dev
  # decimal parsing of the readers (worker/csv.cc), header only
  libfast-float-dev
  # the Slurm test starts a real single-node cluster
  slurm-wlm slurmctld slurmd slurm-client munge
  # the serve tests and the README's serving example talk HTTP(S) with curl
  curl
  # the ASan and fuzz passes: clang, libFuzzer, and llvm-symbolizer for the sanitizers' stacks
  # (their suppressions match symbolized frames)
  clang-15 libfuzzer-15-dev llvm-15
  # tests/export: rescore.py scores exports with numpy and checks ONNX files with onnx.checker
  python3-numpy python3-onnx
)
if [[ "${1:-}" == "--with-bench" ]]; then
  # peers that the benchmarks run side by side with ecps
  packages+=(liblinear-tools python3-sklearn python3-scipy python3-numpy time)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
