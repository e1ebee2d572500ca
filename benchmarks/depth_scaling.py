#!/usr/bin/python3
"""How generation and the generated library scale with depth (the README's depth table).

For each CIFAR-style network it generates the library for one named target (weights not
embedded), recording the wall time and peak memory of `resgen generate`, the library's size,
the planned activation memory per image (and its ratio to the largest tensor), and the batch-1
latency with random calibrated weights (benchmarks/latency.c, median of ITERATIONS runs).

    /usr/bin/python3 benchmarks/depth_scaling.py [--threads 2] [--iterations 20] [--nets a,b]

Needs the build (tools/setup.sh) and Debian's python3-torch. Prints a Markdown table.
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import resnet_reference  # noqa: E402

DEFAULT_NETS = "cifar_resnet20,cifar_resnet56,cifar_resnet110,preact_resnet164,preact_resnet1001,cifar_resnet1202"


def timed(cmd):
    """Runs cmd; returns (stdout, wall seconds, peak RSS in MiB)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{out}")
    return out, time.monotonic() - start, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--nets", default=DEFAULT_NETS)
    ap.add_argument("--resgen", default=os.path.join(ROOT, "build", "resgen"))
    args = ap.parse_args()
    work = os.path.join(ROOT, "build", "depth_scaling")
    os.makedirs(work, exist_ok=True)

    rows, target = [], None
    for net in args.nets.split(","):
        depth = int(re.search(r"(\d+)$", net).group(1))
        out_dir = os.path.join(work, net)
        gen, secs, rss = timed([args.resgen, "generate", net, "--out", out_dir])
        target = re.search(r"target (\S+),", gen).group(1)
        desc, _, _ = timed([args.resgen, "describe", net])
        layers, kernels = re.search(r"library: (\d+) layers, (\d+) distinct kernels", desc).groups()
        act, ratio = re.search(r"activation memory per image: (\d+) bytes planned, ([\d.]+)x", desc).groups()
        lib = os.path.getsize(os.path.join(out_dir, f"lib{net}.a"))

        weights = os.path.join(out_dir, "weights.safetensors")
        if not os.path.exists(weights):
            model = resnet_reference.build(net)
            resnet_reference.save_safetensors(weights, resnet_reference.state_dict_f32(model))
        exe = os.path.join(out_dir, "latency")
        subprocess.run(["cc", "-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", f"-DRG_NET={net}",
                        f'-DRG_NAME="{net}"', "-include", os.path.join(out_dir, f"{net}.h"),
                        os.path.join(ROOT, "benchmarks", "latency.c"), os.path.join(out_dir, f"lib{net}.a"),
                        "-lstdc++", "-lm", "-lpthread", "-ldl", "-o", exe], check=True)
        lat = subprocess.run([exe, weights, "1", str(args.iterations), str(args.threads)], check=True,
                             capture_output=True, text=True).stdout
        median = float(re.search(r"median ([\d.]+) ms", lat).group(1))
        rows.append((depth, net, int(layers), int(kernels), secs, rss, lib, int(act), float(ratio), median))
        print(f"{net}: done", file=sys.stderr)

    base = next((r[6] for r in rows if r[1] == "cifar_resnet110"), None)
    print(f"target {target}, batch 1, {args.threads} threads, median of {args.iterations} runs\n")
    print("| depth | network | layers | kernels | generate (s) | generate peak RSS (MiB) | library (KiB) "
          "| vs cifar_resnet110 | activations / image (KiB) | / largest tensor | latency (ms) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for depth, net, layers, kernels, secs, rss, lib, act, ratio, median in sorted(rows):
        rel = f"{lib / base:.2f}x" if base else "-"
        print(f"| {depth} | {net} | {layers} | {kernels} | {secs:.1f} | {rss:.0f} | {lib / 1024:.0f} | {rel} "
              f"| {act / 1024:.0f} | {ratio:.2f}x | {median:.2f} |")


if __name__ == "__main__":
    main()
