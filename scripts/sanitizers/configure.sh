#!/usr/bin/env bash
# Configures a sanitizer build with clang-15 at -O1 with line tables (readable stacks; about a
# quarter of the build time of GCC at -O2 -g under ASan):
#   scripts/sanitizers/configure.sh address   build-asan/: ASan + UBSan, tests and the libFuzzer
#                                             targets of fuzz/ (one build serves the ASan test
#                                             pass and scripts/fuzz.sh)
#   scripts/sanitizers/configure.sh thread    build-tsan/: ThreadSanitizer, tests
# Prints the build folder. Configures only a folder that is not yet a clang-15 build.
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:?address or thread}
case "$kind" in
  address) dir=build-asan; extra=(-DECPS_SANITIZE=address -DECPS_FUZZ=ON) ;;
  thread) dir=build-tsan; extra=(-DECPS_SANITIZE=thread) ;;
  *) echo "configure.sh: address or thread, not '$kind'" >&2; exit 2 ;;
esac
for tool in clang-15 clang++-15; do
  command -v "$tool" >/dev/null || { echo "configure.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
done
# A folder configured otherwise (another compiler, an older layout) is configured anew.
if [[ -f $dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++-15$' "$dir/CMakeCache.txt"; then
  rm -rf "$dir"
fi
if [[ ! -f $dir/CMakeCache.txt ]]; then
  CC=clang-15 CXX=clang++-15 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
    -DECPS_BUILD_BENCH=OFF "${extra[@]}" >/dev/null
fi
echo "$dir"
