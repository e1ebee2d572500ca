#!/usr/bin/env bash
# Generates NET (random PyTorch weights), links benchmarks/latency.c, prints its latency.
#   benchmarks/latency.sh NET [BATCH] [THREADS] [ITERATIONS] [extra resgen generate args]
# Needs the build (tools/setup.sh) and Debian's python3-torch for the weights.
set -euo pipefail
cd "$(dirname "$0")/.."
net=$1; batch=${2:-1}; threads=${3:-2}; iters=${4:-30}; shift $(( $# < 4 ? $# : 4 ))
work=build/bench/$net
mkdir -p "$work"
/usr/bin/python3 - "$net" "$work/weights.safetensors" <<'PY'
import sys
sys.path.insert(0, "tests/reference")
import resnet_reference as r
r.save_safetensors(sys.argv[2], r.state_dict_f32(r.build(sys.argv[1])))
PY
start=$(date +%s.%N)
build/resgen generate "$net" --out "$work" "$@"
echo "generation: $(/usr/bin/python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -DRG_NET="$net" -DRG_NAME="\"$net\"" -include "$work/$net.h" benchmarks/latency.c \
  "$work/lib$net.a" -lstdc++ -lm -lpthread -ldl -o "$work/latency"
"$work/latency" "$work/weights.safetensors" "$batch" "$iters" "$threads"
