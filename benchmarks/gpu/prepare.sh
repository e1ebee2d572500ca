#!/usr/bin/env bash
# Generates, on a machine with resgen built, the GPU libraries benchmarks/gpu/check.sh runs on
# the device machine, without weights (check.sh makes them there from seeds):
#   - every zoo network (or $NETS) with the manual GPU schedule: correctness against PyTorch;
#   - resnet50 (or $SWEEP_NET) under other convolution tiles (RESGEN_GPU_CONV_TILES) and under Anderson2021,
#     as benchmarks/gpu/libs/<net>@<variant>/: the sweep check.py times layer by layer.
# Each folder holds lib<NET>.a, <NET>.h and lowered.txt (the layer table, for per-layer names).
#   benchmarks/gpu/prepare.sh [TARGET]   default x86-64-linux-avx2-fma-f16c-cuda-cuda_capability_80
#   NETS="resnet18 resnet50" SWEEP="" benchmarks/gpu/prepare.sh     a subset, no sweep
#   SWEEP_NET=cifar_resnet20 (default resnet50): the network of the sweep (check.py --bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:-x86-64-linux-avx2-fma-f16c-cuda-cuda_capability_80}
out=benchmarks/gpu/libs
nets=${NETS:-$(build/resgen list | awk '{print $1}')}
# name=RESGEN_GPU_CONV_TILES value (see schedules/gpu_manual.cpp); "auto" for Anderson2021.
sweep=${SWEEP-"tc8_tx4=tc=8,tx=4 tc4_tx8=tc=4,tx=8 tc8_tx8=tc=8,tx=8 tc2_tx4=tc=2,tx=4 tc4_tx2=tx=2
  tc1_bc32=tc=1,bc=32 tc8_bc8=tc=8,bc=8 t128=threads=128 noshared=shared=0 taps=taps=1
  vec=vector=1 vec_tc8=tc=8,vector=1 vec_tc8_tx8=tc=8,tx=8,vector=1 vec_tc8_taps=tc=8,vector=1,taps=1
  anderson2021=auto"}
rm -rf "$out"
gen() {  # gen DIR NET [generate options...]
  local dir=$1 net=$2
  shift 2
  build/resgen generate "$net" --out "$out/$dir" --target "$target" --jobs "$(nproc)" --dump-lowered "$@" \
    > "$out/$dir.log" 2>&1 || { cat "$out/$dir.log" >&2; exit 1; }
  grep -E '^  v[0-9]+ = ' "$out/$dir.log" > "$out/$dir/lowered.txt"
  rm -rf "$out/$dir/$net.build" "$out/$dir.log"  # intermediates: the archive holds everything
  echo "$dir"
}
mkdir -p "$out"
for net in $nets; do gen "$net" "$net"; done
sweep_net=${SWEEP_NET:-resnet50}
for v in $sweep; do
  name=${v%%=*} tiles=${v#*=}
  if [ "$tiles" = auto ]; then
    gen "$sweep_net@$name" "$sweep_net" --schedule auto:Anderson2021
  else
    RESGEN_GPU_CONV_TILES=$tiles gen "$sweep_net@$name" "$sweep_net"
  fi
done
echo "$target" > "$out/TARGET"
du -sh "$out"
