#!/usr/bin/env python3
"""bench.smoke: `resgen bench` end to end on a small network, with few iterations.

  check_bench.py RESGEN

Runs cifar_resnet20, batch 1, one thread, --vs ort,torch --per-layer (ONNX Runtime is skipped,
with a warning, where its venv is missing) and checks the report: every runner agreed with
PyTorch, a table row per runner with consistent figures (images/s = batch / median, min <=
median, % of peak = GFLOP/s / peak), a `ratio resgen/PEER` line per peer equal to the medians'
ratio, the memory line, the per-pipeline table (shares summing to 100 %, worst first) and the
SVG chart (well-formed, one bar per pipeline). With two threads, the processors' round-trip line
(where the machine has two). Then resnet18 alone, whose peak RSS must stay
within its packed weights + activations + 30 MiB (loading must not hold the file and the packed
weights at once). Then the user's errors: an unknown peer, a bad
batch, an unknown network each fail with a message naming it.
"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def fail(msg, out=""):
    sys.exit(f"FAIL: {msg}\n{out}")


def main():
    resgen = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        svg = os.path.join(tmp, "layers.svg")
        cmd = [resgen, "bench", "cifar_resnet20", "--batch", "1", "--threads", "1", "--vs", "ort,torch",
               "--rounds", "2", "--iterations", "3", "--warmup", "1", "--per-layer", "--report", svg]
        p = subprocess.run(cmd, capture_output=True, text=True)
        out = p.stdout + p.stderr
        print(out)
        if p.returncode != 0:
            fail(f"{' '.join(cmd)} exited with {p.returncode}", out)
        runners = ["resgen", "torch-eager", "torch-jit"]
        if "warning: skipping ort" not in p.stderr:
            runners.insert(1, "ort")
        m = re.search(r"fp32 peak of this machine on 1 threads: ([\d.]+) GFLOP/s", out)
        if not m or float(m.group(1)) <= 0:
            fail("no measured peak", out)
        peak = float(m.group(1))
        agree = re.search(r"agreement with PyTorch eager.*: (.*)", out)
        if not agree or "DIFFERS" in agree.group(1):
            fail("agreement line missing or failing", out)
        for r in runners:
            if not re.search(rf"\b{r} [\d.e+-]+ ok", agree.group(1)):
                fail(f"no agreement figure for {r}", out)
        medians = {}
        for r in runners:
            row = re.search(rf"^{r}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+) MiB", out, re.M)
            if not row:
                fail(f"no table row for {r}", out)
            med, mn, ips, gflops, pct, rss = (float(v) for v in row.groups())
            if not (0 < mn <= med and rss > 0):
                fail(f"{r}: inconsistent median/min/RSS", out)
            if abs(ips - 1e3 / med) > 0.02 * ips + 0.1:
                fail(f"{r}: images/s {ips} is not 1 / median {med} ms", out)
            if abs(pct - 100 * gflops / peak) > 0.2 + 0.02 * pct:
                fail(f"{r}: % of peak {pct} is not GFLOP/s {gflops} / peak {peak}", out)
            medians[r] = med
        for r in runners[1:]:
            m = re.search(rf"^ratio resgen/{r}: ([\d.]+)x$", out, re.M)
            if not m:
                fail(f"no ratio line for {r}", out)
            want = medians["resgen"] / medians[r]
            if abs(float(m.group(1)) - want) > 0.01 + 0.03 * want:
                fail(f"ratio resgen/{r} {m.group(1)} is not {want:.3f}", out)
        if not re.search(r"^memory: resgen peak RSS [\d.]+ MiB, within weights", out, re.M):
            fail("memory line missing, or resgen over its bound", out)
        rows = re.findall(r"^\s*([\d.]+)%\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s+(\d+)\s+(\w+ .*)$", out, re.M)
        if not rows:
            fail("no per-pipeline rows", out)
        shares = [float(r[0]) for r in rows]
        if abs(sum(shares) - 100) > 1 or shares != sorted(shares, reverse=True):
            fail(f"per-pipeline shares {shares} do not sum to 100 % worst first", out)
        if sum(int(r[4]) for r in rows) < 20:
            fail("per-pipeline rows cover fewer layers than cifar_resnet20 has", out)
        bars = [e for e in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}rect")][1:]
        if len(bars) != len(rows):
            fail(f"{svg} has {len(bars)} bars for {len(rows)} pipelines", out)

        # The memory bound where the weights dominate: resnet18 (45 MiB of weights), resgen alone.
        cmd = [resgen, "bench", "resnet18", "--batch", "1", "--threads", "1", "--rounds", "1", "--iterations", "1",
               "--warmup", "0"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        out = p.stdout + p.stderr
        print(out)
        m = re.search(r"^memory: resgen peak RSS ([\d.]+) MiB, (\w+) weights ([\d.]+) MiB", out, re.M)
        if p.returncode != 0 or not m or float(m.group(3)) < 40:
            fail(f"{' '.join(cmd)}: status {p.returncode}, no memory line", out)
        if m.group(2) != "within":
            fail("resnet18: peak RSS over weights + activations + 30 MiB", out)

        # With two threads, the round trip of a cache line between two processors is reported.
        if len(os.sched_getaffinity(0)) >= 2:
            cmd = [resgen, "bench", "cifar_resnet20", "--threads", "2", "--rounds", "2", "--iterations", "2",
                   "--warmup", "0"]
            p = subprocess.run(cmd, capture_output=True, text=True)
            out = p.stdout + p.stderr
            print(out)
            m = re.search(r"round trip of a cache line between two processors: median (\d+) ns \((\d+) to (\d+) "
                          r"over (\d+) samples\)", out)
            if p.returncode != 0 or not m:
                fail(f"{' '.join(cmd)}: status {p.returncode}, no round trip line", out)
            med, lo, hi, n = (int(v) for v in m.groups())
            if not (0 < lo <= med <= hi and n == 3):
                fail(f"round trip figures inconsistent: {m.group(0)}", out)

        for args, word in ((["--vs", "tensorflow"], "tensorflow"), (["--batch", "0"], "--batch"),
                           (["--threads", "x"], "--threads")):
            p = subprocess.run([resgen, "bench", "cifar_resnet20"] + args, capture_output=True, text=True)
            if p.returncode == 0 or word not in p.stderr:
                fail(f"resgen bench {' '.join(args)}: status {p.returncode}, stderr {p.stderr!r}")
        p = subprocess.run([resgen, "bench", "resnet7"], capture_output=True, text=True)
        if p.returncode == 0 or "resnet7" not in p.stderr:
            fail(f"resgen bench resnet7: status {p.returncode}, stderr {p.stderr!r}")
    print("bench.smoke: ok")


if __name__ == "__main__":
    main()
