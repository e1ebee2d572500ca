#!/usr/bin/env bash
# Android libraries (compile only): cifar_resnet20 for arm-64-android and arm-32-android, with the
# NDK's clang++ for the glue. Skipped (exit 77) without an NDK (ANDROID_NDK_ROOT/ANDROID_NDK_HOME).
#   check_android.sh RESGEN WORKDIR
set -euo pipefail
resgen=$1 work=$2
if [ -z "${ANDROID_NDK_ROOT:-${ANDROID_NDK_HOME:-}}" ]; then
  echo "skip: no Android NDK (set ANDROID_NDK_ROOT)"
  exit 77
fi
rm -rf "$work"
for target in arm-64-android arm-32-android; do
  "$resgen" generate cifar_resnet20 --target "$target" --out "$work/$target"
  want=$([ "$target" = arm-64-android ] && echo AArch64 || echo ARM)
  mkdir -p "$work/$target/objects" && (cd "$work/$target/objects" && ar x ../libcifar_resnet20.a)
  for o in "$work/$target"/objects/*.o; do
    readelf -h "$o" | grep -q "Machine:.*$want" || { echo "FAIL $o is not $want"; exit 1; }
  done
  echo "ok   $target: every object in libcifar_resnet20.a is $want"
done
