#!/usr/bin/env bash
# The benchmark cases of the README, each `resgen bench ... --vs ort,torch --per-layer`:
# resnet18 and resnet50 at 3x224x224 with batch 1 and 8, cifar_resnet56 at 3x32x32 with batch 1
# and 64, on 1 and 2 threads. Prints every report; the charts land in $RESGEN_CACHE/bench/.
#   benchmarks/bench_cases.sh [quick]     quick: only batch 1 on 2 threads
# Needs the build (tools/setup.sh) and, for ort, tools/setup_bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=("resnet50 1" "resnet18 1" "cifar_resnet56 1")
threads=(2)
if [ "${1:-}" != quick ]; then
  cases+=("resnet50 8" "resnet18 8" "cifar_resnet56 64")
  threads=(2 1)
fi
for t in "${threads[@]}"; do
  for c in "${cases[@]}"; do
    set -- $c
    echo "\$ resgen bench $1 --batch $2 --threads $t --vs ort,torch --per-layer"
    build/resgen bench "$1" --batch "$2" --threads "$t" --vs ort,torch --per-layer
    echo
  done
done
