#!/usr/bin/python3
"""Links generated static libraries into C and C++ programs built with no Halide on their
include or library paths, and checks their answers against PyTorch.

  check_aot.py RESGEN CC CXX WORKDIR

Also checks the archive: every object links (--whole-archive), and every defined global
symbol outside the Halide runtime carries the network's prefix.
"""
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "network"))
from check_network import compare, reference_module  # noqa: E402


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


def check_symbols(lib, prefix):
    out = run(["nm", "--defined-only", "-g", lib])
    obj, bad = None, []
    for line in out.splitlines():
        if line.endswith(":"):
            obj = line[:-1]
            continue
        parts = line.split()
        if len(parts) != 3 or obj == "runtime.o":
            continue
        if not parts[2].startswith(prefix + "_"):
            bad.append(f"{obj}: {parts[2]}")
    if bad:
        sys.exit(f"FAIL: {lib} exports symbols without the prefix {prefix}_: {bad[:10]}")
    print(f"ok symbols of {os.path.basename(lib)}: all prefixed {prefix}_ outside runtime.o")


def main():
    resgen, cc, cxx, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    ref = reference_module()
    torch.set_num_threads(2)
    a, b = ref.build("cifar_resnet20", seed=1), ref.build("preact_resnet20", seed=2)
    wa, wb = os.path.join(work, "a.safetensors"), os.path.join(work, "b.safetensors")
    ref.save_safetensors(wa, ref.state_dict_f32(a))
    ref.save_safetensors(wb, ref.state_dict_f32(b))
    out = os.path.join(work, "lib")
    run([resgen, "generate", "cifar_resnet20", "--out", out, "--weights", wa, "--embed-weights"])
    run([resgen, "generate", "preact_resnet20", "--out", out, "--weights", wb])
    for net in ("cifar_resnet20", "preact_resnet20"):
        check_symbols(os.path.join(out, f"lib{net}.a"), net)

    n = 9  # with 2 threads: 4 + 4 images side by side, then 1 on both (model.inc, rg_plan_batch)
    x = torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ya_ref, yb_ref = a(x).numpy(), b(x).numpy()
    xbin = os.path.join(work, "x.bin")
    x.numpy().astype("<f4").tofile(xbin)
    # No Halide include or library path: only the generated folder and the system's libraries.
    libs = [os.path.join(out, "libcifar_resnet20.a"), os.path.join(out, "libpreact_resnet20.a")]
    exe_c = os.path.join(work, "aot_c")
    run([cc, "-std=c11", "-Wall", "-Werror", "-I", out, os.path.join(HERE, "aot_main.c"),
         "-Wl,--whole-archive", *libs, "-Wl,--no-whole-archive", "-lstdc++", "-lm", "-lpthread", "-ldl", "-o", exe_c])
    exe_cpp = os.path.join(work, "aot_cpp")
    run([cxx, "-std=c++17", "-Wall", "-Werror", "-I", out, os.path.join(HERE, "aot_main.cpp"), libs[0],
         "-lpthread", "-ldl", "-o", exe_cpp])
    ya, yb, yc = (os.path.join(work, f) for f in ("ya.bin", "yb.bin", "yc.bin"))
    print(run([exe_c, xbin, str(n), ya, yb, wb]), end="")
    print(run([exe_cpp, xbin, str(n), yc]), end="")
    ok = True
    for name, path, expected in (("C, embedded cifar_resnet20", ya, ya_ref),
                                 ("C, file-loaded preact_resnet20", yb, yb_ref),
                                 ("C++ wrapper, cifar_resnet20", yc, ya_ref)):
        y = np.fromfile(path, dtype="<f4").reshape(expected.shape)
        err, tol, bad = compare(y, expected)
        good = err <= tol and not bad
        ok = ok and good
        print(f"{'ok' if good else 'FAIL'} {name}: max|y-ref| = {err:.3g} (tolerance {tol:.3g})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
