#!/usr/bin/env bash
# The long checks, run before an issue is resolved (not in CI):
#   1. the whole test suite (tools/test.sh);
#   2. every zoo network generates at its default input, with the time each takes;
#   3. more networks against PyTorch through resgen run (every torchvision and CIFAR-style
#      family member that fits in minutes), batch sizes 1 and 3;
#   4. every zoo network on OpenCL (PoCL) against PyTorch, and generated for CUDA;
#   5. other deployment targets (ARM, x86 multi-target) and the README's depth table;
#   6. the demo.
# Prints one line per check and a summary; exit status 0 only if all passed.
set -uo pipefail
cd "$(dirname "$0")/.."
log=build/full_check
mkdir -p "$log"
failures=0
report() { if [ "$1" -eq 0 ]; then echo "ok   $2"; else echo "FAIL $2"; failures=$((failures + 1)); fi; }

tools/test.sh > "$log/tests.log" 2>&1; report $? "test suite (log: $log/tests.log)"

for net in $(build/resgen list | awk '{print $1}'); do
  start=$(date +%s.%N)
  build/resgen generate "$net" --out "$log/zoo" > "$log/generate_$net.log" 2>&1
  rc=$?
  secs=$(/usr/bin/python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
  report $rc "generate $net ($(head -n 2 "$log/generate_$net.log" | tail -n 1 | cut -d, -f1-2), ${secs} s)"
  rm -rf "$log/zoo/$net.build"
done

export RESGEN_CACHE="$PWD/build/test-cache"
for net in resnet34 resnet101 resnext101_32x8d wide_resnet101_2 cifar_resnet32 cifar_resnet44 \
           cifar_resnet110 preact_resnet56 preact_resnet110; do
  /usr/bin/python3 tests/network/check_network.py build/resgen "$net" --batch 1 3 > "$log/net_$net.log" 2>&1
  report $? "PyTorch match: $net ($(grep -c '^ok' "$log/net_$net.log") of 2 batches)"
done
/usr/bin/python3 tests/network/check_network.py build/resgen resnet50 --input 3x224x224 --batch 1 \
  > "$log/net_resnet50_224.log" 2>&1
report $? "PyTorch match: resnet50 at 3x224x224"

# GPU libraries: every zoo network on OpenCL (PoCL on this CPU) against PyTorch, and generated
# for CUDA (compile only: PTX per kernel, linking, the no-driver error).
for net in $(build/resgen list | awk '{print $1}'); do
  /usr/bin/python3 tests/network/check_network.py build/resgen "$net" --batch 2 \
    --target x86-64-linux-avx2-fma-f16c-opencl > "$log/opencl_$net.log" 2>&1
  report $? "OpenCL (PoCL) PyTorch match: $net"
  /usr/bin/python3 tests/gpu/check_cuda.py build/resgen c++ "$log/cuda" "$net" > "$log/cuda_$net.log" 2>&1
  report $? "CUDA generation and PTX: $net"
  rm -rf "$log/cuda/$net"
done

# Deployment targets: a few networks generated for each (ARM ones also run under qemu in the suite).
for target in arm-64-linux arm-32-linux x86-64-linux-avx512_skylake,x86-64-linux-avx2-fma-f16c-sse41,x86-64-linux-sse41; do
  for net in resnet50 preact_resnet1001; do
    build/resgen generate "$net" --target "$target" --out "$log/targets" > "$log/target_$net.log" 2>&1
    report $? "generate $net for $target"
    rm -rf "$log/targets"
  done
done

# The depth table of the README (generation time and memory, library size, activations, latency).
/usr/bin/python3 benchmarks/depth_scaling.py > "$log/depth_scaling.md" 2> "$log/depth_scaling.log"
report $? "depth scaling table: $log/depth_scaling.md"

tools/demo.sh > "$log/demo.log" 2>&1
report $? "demo: $(grep -E "^accuracy|^images" "$log/demo.log" | tr "\n" " ")"

echo "full check: $failures failure(s)"
exit $((failures > 0))
