#!/usr/bin/env bash
# resgen's thread pool against Halide's on NET, in turns in one process (benchmarks/latency.c
# with `pools`): REPEATS times (default 4) ROUNDS rounds (default 10).
#   benchmarks/thread_pool.sh NET [BATCH] [THREADS] [ROUNDS] [REPEATS]
# Generates and builds through benchmarks/latency.sh (whose own figure it prints first).
set -euo pipefail
cd "$(dirname "$0")/.."
net=$1; batch=${2:-1}; threads=${3:-2}; rounds=${4:-10}; repeats=${5:-4}
benchmarks/latency.sh "$net" "$batch" "$threads" 10 | tail -1
work=build/bench/$net
for _ in $(seq "$repeats"); do "$work/latency" "$work/weights.safetensors" "$batch" "$rounds" "$threads" pools; done
