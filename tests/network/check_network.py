#!/usr/bin/python3
"""Runs a network through `resgen run` (the whole AOT path) and compares it with PyTorch.

  check_network.py RESGEN NET [--batch 1 3] [--input CxHxW] [--classes K] [--seed S] [--threads T]

Builds the PyTorch model with resnet_reference.build() (seeded weights, calibrated batch-norm),
writes its weights as safetensors and a random input as .npy, runs resgen, and checks the
tolerance of DESIGN.md section 6: max|y - ref| <= 1e-3 * max(1, max|ref|), and the same argmax
for every row whose reference top-2 gap exceeds twice that tolerance.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def reference_module():
    """The shared reference beside the checkout if present, else the copy in tests/reference."""
    for d in (os.environ.get("RESGEN_REFERENCE_DIR"), os.path.join(REPO, "..", "shared", "reference"),
              os.path.join(REPO, "tests", "reference")):
        if d and os.path.exists(os.path.join(d, "resnet_reference.py")):
            sys.path.insert(0, d)
            import resnet_reference
            return resnet_reference
    sys.exit("error: resnet_reference.py not found")


def compare(y, ref):
    tol = 1e-3 * max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(y - ref).max())
    bad_rows = []
    for i in range(ref.shape[0]):
        top2 = np.sort(ref[i])[-2:]
        if top2[1] - top2[0] > 2 * tol and np.argmax(y[i]) != np.argmax(ref[i]):
            bad_rows.append(i)
    return err, tol, bad_rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("resgen")
    ap.add_argument("net")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--input", default=None, help="CxHxW (default: 3x32x32 CIFAR-style, 3x64x64 torchvision)")
    ap.add_argument("--classes", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--schedule", default=None, help="resgen's --schedule (default: its own default)")
    ap.add_argument("--target", default=None, help="resgen's --target (default: this machine)")
    ap.add_argument("--threads", type=int, default=None, help="resgen's --threads (default: its own default)")
    ap.add_argument("--cpu-path", choices=["sse41", "avx2", "avx512"], default=None,
                    help="force an x86 multi-target library onto this path (and check that it took it); "
                         "exits 77 (skipped) when this CPU lacks it")
    args = ap.parse_args()

    ref = reference_module()
    torch.set_num_threads(2)
    env = dict(os.environ)
    if args.cpu_path:
        flags = open("/proc/cpuinfo").read().split()
        if {"avx2": "avx2", "avx512": "avx512f"}.get(args.cpu_path, "sse4_1") not in flags:
            print(f"skip: this CPU has no {args.cpu_path}")
            sys.exit(77)
        env["RESGEN_CPU_PATH"] = args.cpu_path
    cifar = args.net.startswith(("cifar_resnet", "preact_resnet"))
    c, h, w = (int(v) for v in (args.input or ("3x32x32" if cifar else "3x64x64")).split("x"))
    model = ref.build(args.net, seed=args.seed, num_classes=args.classes, in_channels=c)
    classes = model.fc.out_features
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "weights.safetensors")
        ref.save_safetensors(weights, ref.state_dict_f32(model))
        for n in args.batch:
            x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(args.seed + n))
            with torch.no_grad():
                expected = model(x).numpy()
            xin, yout = os.path.join(tmp, f"x{n}.npy"), os.path.join(tmp, f"y{n}.npy")
            np.save(xin, x.numpy().astype(np.float32))
            cmd = [args.resgen, "run", args.net, "--weights", weights, "--input", xin, "--output", yout,
                   "--classes", str(classes)]
            cmd += ["--schedule", args.schedule] if args.schedule else []
            cmd += ["--target", args.target] if args.target else []
            cmd += ["--threads", str(args.threads)] if args.threads else []
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if r.returncode != 0:
                print(f"FAIL {args.net} batch {n}: resgen run exited {r.returncode}\n{r.stdout}{r.stderr}")
                ok = False
                continue
            # Halide takes the last sub-target without asking; the tests put SSE4.1 last.
            taken = "last sub-target" if args.cpu_path == "sse41" else args.cpu_path
            if args.cpu_path and f"cpu path: {taken}" not in r.stderr:
                print(f"FAIL {args.net} batch {n}: the library did not take the {args.cpu_path} path:\n{r.stderr}")
                ok = False
                continue
            y = np.load(yout)
            if y.shape != expected.shape:
                print(f"FAIL {args.net} batch {n}: output shape {y.shape}, PyTorch {expected.shape}")
                ok = False
                continue
            err, tol, bad = compare(y, expected)
            status = "ok" if err <= tol and not bad else "FAIL"
            ok = ok and status == "ok"
            print(f"{status} {args.net} {c}x{h}x{w} batch {n} ({args.target or 'host'}{', ' + args.cpu_path + ' path' if args.cpu_path else ''}, {args.schedule or 'default schedule'}): max|y-ref| = {err:.3g} (tolerance {tol:.3g}),"
                  f" argmax mismatches {bad}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
