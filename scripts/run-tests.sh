#!/usr/bin/env bash
# The README's test command. Installs the dependencies, then runs the passes CI runs:
#   plain:   Release build (-Werror) into build/, the whole suite with ctest
#            (unit, in-process cluster, mpirun and Slurm tests);
#   address: clang-15 -O1 build with AddressSanitizer + UBSan into build-asan/ (see
#            scripts/sanitizers/configure.sh), the unit, cluster and mpi labels; Open MPI's own
#            leaks are suppressed in scripts/sanitizers/lsan.supp, ecps's are not (its
#            components stay loaded until the leak check: scripts/sanitizers/keep_modules.c);
#   fuzz:    every libFuzzer target of fuzz/ for 20 s on its committed corpus
#            (scripts/fuzz.sh 20, one target per core), from the same build-asan/.
# Usage: scripts/run-tests.sh [--only plain|address|fuzz|thread]...
#   --only PASS   run just that pass (repeatable). Not in the default set:
#                 `thread` ThreadSanitizer (clang-15 -O1) into build-tsan/, label cluster, TBB and
#                          Open MPI internals suppressed in scripts/sanitizers/tsan.supp.
# Each test pass prints ctest's summary line; the script exits non-zero when any pass fails.
set -euo pipefail
cd "$(dirname "$0")/.."

passes=()
while (($#)); do
  case "$1" in
    --only) passes+=("${2:?--only needs plain, address, fuzz or thread}"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-tests: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
((${#passes[@]})) || passes=(plain address fuzz)

jobs=$(nproc 2>/dev/null || echo 2)
sup="$PWD/scripts/sanitizers"
scripts/install-deps.sh
# The sanitizers' reports and leak suppressions need symbolized stacks.
export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-15 TSAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-15

run_ctest() {  # run_ctest BUILD_DIR [ctest args...]
  local dir=$1; shift
  (cd "$dir" && ctest -j"$jobs" --output-on-failure --timeout 600 "$@")
}

for pass in "${passes[@]}"; do
  echo "== run-tests: pass '$pass' ($(date -u +%H:%M:%S))"
  case "$pass" in
    plain)
      scripts/build.sh -DECPS_WERROR=ON
      run_ctest build
      ;;
    address)
      dir=$(scripts/sanitizers/configure.sh address)
      cmake --build "$dir" -j"$jobs"
      clang-15 -O1 -shared -fPIC -o "$dir/keep_modules.so" "$sup/keep_modules.c"
      LD_PRELOAD="$PWD/$dir/keep_modules.so" \
      ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0" \
      LSAN_OPTIONS="suppressions=$sup/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
        run_ctest "$dir" -L 'unit|cluster|mpi'
      ;;
    thread)
      dir=$(scripts/sanitizers/configure.sh thread)
      cmake --build "$dir" -j"$jobs"
      TSAN_OPTIONS="suppressions=$sup/tsan.supp:halt_on_error=1:second_deadlock_stack=1" \
        run_ctest "$dir" -L cluster
      ;;
    fuzz)
      FUZZ_JOBS=$jobs scripts/fuzz.sh 20
      ;;
    *) echo "run-tests: unknown pass '$pass' (plain, address, fuzz or thread)" >&2; exit 2 ;;
  esac
done
echo "== run-tests: all passes green (${passes[*]})"
