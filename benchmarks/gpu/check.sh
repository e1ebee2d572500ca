#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU, nvcc/g++ and PyTorch with CUDA (no Halide, no
# network): the CUDA libraries generated elsewhere by benchmarks/gpu/prepare.sh (carried in
# benchmarks/gpu/libs/) are linked into small shared libraries here, then check.py compares them
# with PyTorch on the GPU (weights and inputs from seeds) and times resnet50 against PyTorch.
#   benchmarks/gpu/check.sh            # about 2-4 minutes; $PYTHON names the interpreter with PyTorch
# Also runs an OpenCL build on the CPU (PoCL) with PyTorch on the CPU, to test this script
# without a GPU:  RESGEN_CHECK_DEVICE=cpu benchmarks/gpu/check.sh
set -euo pipefail
cd "$(dirname "$0")"
libs=${RESGEN_CHECK_LIBS:-libs}
[ -d "$libs" ] || { echo "error: $libs/ is missing: run benchmarks/gpu/prepare.sh first" >&2; exit 1; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
work=${TMPDIR:-/tmp}/resgen_gpu_check
mkdir -p "$work"
link() {  # link DIR: one shared library per carried folder (NET or NET@variant), in parallel
  local dir=${1%/} name net
  name=$(basename "$dir")
  net=${name%%@*}
  # -Bsymbolic: each library keeps its own Halide runtime when several are loaded.
  ${CXX:-g++} -std=c++17 -O2 -shared -fPIC -o "$work/libbench_$name.so" bench_wrapper.cpp \
    -DRG_NET="$net" -DRG_HEADER="\"$net.h\"" -I "$dir" -Wl,-Bsymbolic \
    -Wl,--whole-archive "$dir/lib$net.a" -Wl,--no-whole-archive -lpthread -ldl ||
    echo "warning: $name did not link; check.py skips it" >&2
}
pids=()
for dir in "$libs"/*/; do
  link "$dir" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$(nproc)" ]; then wait "${pids[0]}" || true; pids=("${pids[@]:1}"); fi
done
wait
exec ${PYTHON:-python3} check.py --libs "$libs" --work "$work" "$@"
