#!/usr/bin/env bash
# Generates, on a machine with resgen built, the GPU libraries benchmarks/gpu/check.sh runs on
# the device machine: resnet18, resnet50 (3x224x224) and cifar_resnet56 for a named CUDA target,
# without weights (check.sh makes them there from seeds). Output: benchmarks/gpu/libs/<net>/,
# small enough to carry (the kernels' PTX and the runtime; no weights).
#   benchmarks/gpu/prepare.sh [TARGET]     default x86-64-linux-avx2-fma-f16c-cuda-cuda_capability_80
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:-x86-64-linux-avx2-fma-f16c-cuda-cuda_capability_80}
out=benchmarks/gpu/libs
rm -rf "$out"
for net in cifar_resnet56 resnet18 resnet50; do
  build/resgen generate "$net" --out "$out/$net" --target "$target" --jobs 2
  rm -rf "$out/$net/$net.build"   # intermediates: the archive holds everything
done
echo "$target" > "$out/TARGET"
du -sh "$out"
