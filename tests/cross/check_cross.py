#!/usr/bin/python3
"""Cross-building with CMake and an installed resgen, checked against PyTorch.

    check_cross.py RESGEN_BUILD_DIR CMAKE NINJA WORKDIR

Installs resgen from its build folder into WORKDIR/prefix, configures tests/cross/project (a
user project: find_package(resgen), resgen_add_network(... TARGETS arm-64-linux ... EMBED)) with
an aarch64 toolchain, builds it (the same resgen binary generates for ARM; the glue is compiled
with the project's cross compiler), runs the program under qemu-aarch64 and compares its logits
with PyTorch's for the same input, within DESIGN.md's tolerance.
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "network"))
from check_network import compare, reference_module  # noqa: E402

build, cmake, ninja, work = sys.argv[1:5]
if shutil.which("aarch64-linux-gnu-gcc") is None or shutil.which("qemu-aarch64") is None:
    sys.exit("error: needs aarch64-linux-gnu-gcc and qemu-aarch64 (tools/setup.sh installs them)")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
prefix = os.path.join(work, "prefix")
subprocess.run([cmake, "--install", build, "--prefix", prefix], check=True, stdout=subprocess.DEVNULL)

ref = reference_module()
model = ref.build("cifar_resnet20", seed=3)
weights = os.path.join(work, "weights.safetensors")
ref.save_safetensors(weights, ref.state_dict_f32(model))
x = ((np.arange(3 * 32 * 32) % 17 - 8) / 8.0).astype(np.float32).reshape(1, 3, 32, 32)
with torch.no_grad():
    expected = model(torch.from_numpy(x)).numpy()

b = os.path.join(work, "build")
subprocess.run([cmake, "-S", os.path.join(HERE, "project"), "-B", b, "-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}",
                f"-DCMAKE_TOOLCHAIN_FILE={os.path.join(HERE, 'aarch64.cmake')}", f"-DCMAKE_PREFIX_PATH={prefix}",
                f"-DWEIGHTS={weights}"], check=True)
subprocess.run([cmake, "--build", b], check=True)
exe = os.path.join(b, "cross_main")
machine = subprocess.run(["readelf", "-h", exe], check=True, capture_output=True, text=True).stdout
if "AArch64" not in machine:
    sys.exit(f"FAIL: {exe} is not an AArch64 program:\n{machine}")
out = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", exe], check=True, capture_output=True,
                     text=True).stdout
y = np.array([float(v) for v in out.split()], dtype=np.float32).reshape(1, -1)
err, tol, bad = compare(y, expected)
ok = err <= tol and not bad
print(f"{'ok' if ok else 'FAIL'} cifar_resnet20 built with CMake for arm-64-linux by an installed resgen, run under "
      f"qemu: max|y-ref| = {err:.3g} (tolerance {tol:.3g}), argmax mismatches {bad}")
sys.exit(0 if ok else 1)
