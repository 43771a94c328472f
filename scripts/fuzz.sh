#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang-15, ASan+UBSan) into build-asan/ and runs each
# for SECONDS (default 60) on a copy of its committed corpus fuzz/corpus/<target>/ (the
# committed corpus never grows). Exits 1 when any target finds a crash, sanitizer report,
# uncaught exception, timeout or out-of-memory, naming the target and the input that did it.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   run every target, or only the ones named
#   scripts/fuzz.sh --list                  list the targets
#   FUZZ_JOBS=2 scripts/fuzz.sh 60          run two targets at a time
#
# Inputs that crashed are kept in build-asan/fuzz-out/<target>/ (crash-*, timeout-*, oom-*,
# leak-*) with the target's log; reproduce one with build-asan/fuzz/fuzz_<target> FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
list=0
names=()
for arg in "$@"; do
  case "$arg" in
    --list) list=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    ''|*[!0-9]*) names+=("$arg") ;;
    *) seconds=$arg ;;
  esac
done

all=$(sed -n 's/^ecps_fuzz(\([a-z_]*\) .*/\1/p' fuzz/CMakeLists.txt)
if [[ $list == 1 ]]; then
  echo "$all"
  exit 0
fi
if [[ ${#names[@]} -eq 0 ]]; then
  mapfile -t names <<<"$all"
fi
for t in "${names[@]}"; do
  grep -qx "$t" <<<"$all" || { echo "fuzz.sh: unknown target \"$t\" (targets: $(echo $all))" >&2; exit 2; }
done

# The ASan build (clang-15, -O1, ASan + UBSan, coverage instrumentation) that the ASan test
# pass of scripts/run-tests.sh uses too; later runs only rebuild what changed.
build=$(scripts/sanitizers/configure.sh address)
targets=()
for t in "${names[@]}"; do targets+=("fuzz_$t"); done
mkdir -p "$build"
if ! cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
  tail -40 "$build/fuzz-build.log" >&2
  echo "fuzz.sh: the build failed (log: $build/fuzz-build.log)" >&2
  exit 2
fi

out=$build/fuzz-out
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
symbolizer=$(command -v llvm-symbolizer-15 || command -v llvm-symbolizer || true)
[[ -n $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_one TARGET: fuzzes one target into $out/TARGET; prints one summary line.
run_one() {
  local t=$1 dir=$out/$1
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  if [[ -d fuzz/corpus/$t ]]; then cp -r "fuzz/corpus/$t/." "$dir/corpus/"; fi
  # The kept crash inputs of the loaders (fuzz/findings-models) run first, as regression checks.
  for f in fuzz/findings-models/"$t"-*; do [[ -f $f ]] && cp "$f" "$dir/corpus/"; done
  local rc=0
  "$build/fuzz/fuzz_$t" "$dir/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1 || rc=$?
  local execs found
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  found=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
  if [[ $rc != 0 || -n $found ]]; then
    printf '%-14s FINDING after %s executions (exit %s): %s\n' "$t" "${execs:-?}" "$rc" "${found:-see $dir/log}"
    grep -m3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz harness)' "$dir/log" | sed 's/^/    /' || true
    return 1
  fi
  printf '%-14s ok: %s s, %s executions, corpus %s -> %s inputs\n' "$t" "$seconds" "${execs:-?}" \
    "$(find "fuzz/corpus/$t" -type f 2>/dev/null | wc -l)" "$(find "$dir/corpus" -type f | wc -l)"
}

mkdir -p "$out"
jobs=${FUZZ_JOBS:-1}
failed=0
pids=()
for t in "${names[@]}"; do
  if [[ $jobs -le 1 ]]; then
    run_one "$t" || failed=1
  else
    run_one "$t" > "$out/$t.summary" 2>&1 &
    pids+=($!)
    if [[ ${#pids[@]} -ge $jobs ]]; then wait "${pids[0]}" || failed=1; pids=("${pids[@]:1}"); fi
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if [[ $jobs -gt 1 ]]; then
  for t in "${names[@]}"; do cat "$out/$t.summary"; rm -f "$out/$t.summary"; done
fi
# Scratch files of targets that crashed (named ecps-fuzz-<target>-<pid>).
for f in /dev/shm/ecps-fuzz-* /tmp/ecps-fuzz-*; do
  [[ -e $f ]] && ! kill -0 "${f##*-}" 2>/dev/null && rm -f "$f" || true
done
if [[ $failed != 0 ]]; then
  echo "fuzz.sh: findings above; reproduce with $build/fuzz/fuzz_<target> <file>" >&2
  exit 1
fi
echo "fuzz.sh: no findings (${#names[@]} targets, $seconds s each)"
