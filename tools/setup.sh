#!/usr/bin/env bash
# Prepares a Debian 12 machine (as root, or with sudo) for resgen and builds it:
#   - Debian packages: compiler, fmt, doctest, PyTorch (tests' reference), Fashion-MNIST (demo),
#     the ARM cross compilers and qemu-user (64- and 32-bit ARM libraries, tested under emulation),
#     PoCL (OpenCL on the CPU: GPU libraries are tested through it)
#   - the project venv .venv with Halide 21 (PyPI wheel, C++ SDK inside), CMake and Ninja
#   - build/: resgen and its tests (Release)
# With --reliability, also what tools/ci_reliability.sh needs (clang 14, its runtimes, Valgrind).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ binutils libfmt-dev nlohmann-json3-dev doctest-dev python3-venv python3-numpy python3-torch
          python3-torchvision dataset-fashion-mnist g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user
          pocl-opencl-icd ocl-icd-opencl-dev)
# tools/ci_reliability.sh: clang's libFuzzer and sanitizer runtimes, Valgrind
[ "${1:-}" != --reliability ] || packages+=(clang-14 libclang-rt-14-dev valgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! .venv/bin/python -c "import halide" 2>/dev/null || [ ! -x .venv/bin/cmake ] || [ ! -x .venv/bin/ninja ]; then
  echo "setup: creating .venv with halide==21.0.0, cmake, ninja (PyPI)"
  [ -x .venv/bin/python ] || /usr/bin/python3 -m venv .venv
  # --no-deps: the C++ SDK needs neither numpy nor imageio.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps halide==21.0.0 cmake ninja
fi

[ -f build/build.ninja ] || .venv/bin/cmake -S . -B build -G Ninja -DCMAKE_MAKE_PROGRAM="$PWD/.venv/bin/ninja" >/dev/null
.venv/bin/cmake --build build
