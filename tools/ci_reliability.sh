#!/usr/bin/env bash
# Reliability checks beyond the test suite (README "Reliability"): run after tools/test.sh.
#   fuzz    libFuzzer (clang 14, ASan + UBSan) on the weights reader and the .npy reader, seeded
#           with tests/fuzz/corpus, both at once for $FUZZ_SECONDS (default 60) each
#   asan    a second build (build-asan/, GCC with ASan + UBSan) running the unit, parser replay,
#           DSL, ops (Halide JIT) and CLI error tests, and cifar_resnet20 through `resgen run`
#           (glue sanitized; then kernels and Halide runtime too, with Halide's asan feature)
#   tsan    cifar_resnet20 generated with Halide's tsan feature, glue and stress program under
#           ThreadSanitizer: 8 threads x 10,000 calls on one shared model, then a model each,
#           every output bitwise equal to the single-threaded baseline, itself checked vs PyTorch
#   memcheck an AVX2 library (Valgrind 3.19 has no AVX-512) under Valgrind memcheck: create,
#           run, destroy and every error path, no leak, no invalid access; then the
#           allocation-failure check (a run whose arena cannot be allocated)
# Usage: tools/ci_reliability.sh [fuzz] [asan] [tsan] [memcheck]   (default: all, in that order)
# Environment: FUZZ_SECONDS, STRESS_THREADS (8), STRESS_CALLS (10000), WORK (build/reliability).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(fuzz asan tsan memcheck)
tools/setup.sh --reliability >/dev/null
WORK=${WORK:-$ROOT/build/reliability}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
THREADS=${STRESS_THREADS:-8}
CALLS=${STRESS_CALLS:-10000}
NET=cifar_resnet20
D=24  # distinct input images
PY=/usr/bin/python3
mkdir -p "$WORK"
export RESGEN_CACHE="$WORK/cache"

host_target() { .venv/bin/python -c "import halide; print(halide.get_host_target())"; }
stamp() { echo "== $(date +%T) $*"; }
elapsed() { echo "== $1 took $(($(date +%s) - $2)) s"; }

fuzz() {
  local t0 pids=() t
  t0=$(date +%s)
  stamp "fuzz: building the libFuzzer targets"
  for t in safetensors npy; do
    clang++-14 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -Wall -Wextra -Wno-unused-function -I. "tests/fuzz/fuzz_$t.cpp" -o "$WORK/fuzz_$t"
    rm -rf "$WORK/corpus_$t" "$WORK/crashes_$t" && mkdir -p "$WORK/corpus_$t" "$WORK/crashes_$t"
    cp tests/fuzz/corpus/$t/* "$WORK/corpus_$t/"
  done
  stamp "fuzz: both targets for ${FUZZ_SECONDS} s, at once"
  for t in safetensors npy; do
    (cd "$WORK/crashes_$t" && "$WORK/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 "$WORK/corpus_$t" >"$WORK/fuzz_$t.log" 2>&1) &
    pids+=($!)
  done
  local failed=0
  for i in 0 1; do wait "${pids[$i]}" || failed=1; done
  for t in safetensors npy; do
    echo "fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$WORK/fuzz_$t.log" | awk '{print $2}') executions," \
         "$(grep -E '^stat::average_exec_per_sec' "$WORK/fuzz_$t.log" | awk '{print $2}') per second"
    if grep -qE 'ERROR: |invariant violated|runtime error' "$WORK/fuzz_$t.log" || ls "$WORK/crashes_$t"/* >/dev/null 2>&1; then
      failed=1
      grep -E -m5 -A20 'ERROR: |invariant violated|runtime error' "$WORK/fuzz_$t.log" || true
      echo "fuzz_$t: failing inputs (add them to tests/fuzz/regressions/$t/):" "$WORK/crashes_$t"/*
    fi
  done
  elapsed fuzz "$t0"
  return $failed
}

asan() {
  local t0
  t0=$(date +%s)
  stamp "asan: building build-asan (ASan + UBSan)"
  local flags="-g1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  [ -f build-asan/build.ninja ] || .venv/bin/cmake -S . -B build-asan -G Ninja -DCMAKE_MAKE_PROGRAM="$ROOT/.venv/bin/ninja" \
    -DCMAKE_BUILD_TYPE=Release -DRESGEN_BUILD_EXAMPLES=OFF "-DCMAKE_CXX_FLAGS=$flags" "-DCMAKE_C_FLAGS=$flags" >/dev/null
  .venv/bin/cmake --build build-asan >"$WORK/build-asan.log" 2>&1 || { tail -50 "$WORK/build-asan.log"; return 1; }
  stamp "asan: unit, fuzz replay, DSL, ops, CLI errors, cifar_resnet20 through resgen run"
  # Halide's libHalide is not instrumented; its JIT and LLVM keep caches alive at exit.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS="suppressions=$ROOT/tests/reliability/lsan.supp" \
    UBSAN_OPTIONS=print_stacktrace=1 .venv/bin/ctest --test-dir build-asan --output-on-failure -j "$(nproc)" \
    -R '^(unit\..*|fuzz\..*|ops|errors\.cli|network\.cifar_resnet20_sanitized)$'
  stamp "asan: cifar_resnet20 with Halide's asan feature too (kernels and Halide runtime), vs PyTorch"
  RESGEN_CXX="g++ -g -fsanitize=address,undefined -fno-sanitize-recover=all" ASAN_OPTIONS=detect_leaks=1 \
    $PY tests/network/check_network.py build-asan/resgen $NET --target "$(host_target)-asan" --batch 1 3 4 \
    --threads 2  # batch 4: two images per thread, side by side (model.inc, rg_plan_batch)
  elapsed asan "$t0"
}

stress_lib() {  # $1: folder, $2: target, $3: compiler and flags for the glue and the stress program
  local dir=$1 target=$2 cxx=$3
  [ -f "$WORK/weights.safetensors" ] || $PY tests/reliability/check_reliability.py prepare "$WORK" $NET $D
  # (its stderr: Halide warns that ShiftInwards tails in parallel loops may look like races to TSan)
  RESGEN_CXX="$cxx" build/resgen generate $NET --target "$target" --out "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
  $cxx -std=c++17 -O1 -I"$dir" -DRG_NET=$NET "-DRG_HEADER=\"$NET.h\"" tests/reliability/stress.cpp \
    "$dir/lib$NET.a" -lpthread -ldl -o "$dir/stress"
}

tsan() {
  local t0 host
  t0=$(date +%s)
  host=$(host_target)
  stamp "tsan: $NET for $host-tsan, glue and stress program with -fsanitize=thread"
  stress_lib "$WORK/tsan" "$host-tsan" "g++ -g -fsanitize=thread"
  stamp "tsan: $THREADS threads x $CALLS calls"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$WORK/tsan/stress" concurrency "$WORK/weights.safetensors" \
    "$WORK/inputs.bin" $D "$THREADS" "$CALLS" "$WORK/baseline.bin"
  $PY tests/reliability/check_reliability.py compare "$WORK" $NET $D
  elapsed tsan "$t0"
}

memcheck() {
  local t0
  t0=$(date +%s)
  stamp "memcheck: $NET for x86-64-linux-avx2-fma-f16c-sse41 under Valgrind"
  stress_lib "$WORK/avx2" x86-64-linux-avx2-fma-f16c-sse41 "g++ -g"
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode=1 --track-origins=yes "$WORK/avx2/stress" lifecycle "$WORK/weights.safetensors" "$WORK/inputs.bin" 4
  stamp "oom: a run whose activation arena cannot be allocated"
  "$WORK/avx2/stress" oom "$WORK/weights.safetensors" "$WORK/inputs.bin" $D
  elapsed memcheck "$t0"
}

for s in "${steps[@]}"; do
  case $s in
    fuzz | asan | tsan | memcheck) $s ;;
    *) echo "unknown step $s (fuzz, asan, tsan, memcheck)" >&2; exit 2 ;;
  esac
done
echo "ci_reliability: all passed (${steps[*]})"
