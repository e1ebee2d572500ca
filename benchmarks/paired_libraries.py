#!/usr/bin/env python3
"""Two generated libraries of one network, timed in turns: the measure of a schedule change.

    benchmarks/paired_libraries.py OLD_DIR NEW_DIR NET [--batch N] [--threads T] [--pairs P]
                                   [--old-env NAME=VALUE ...]

OLD_DIR and NEW_DIR hold `resgen generate NET --out DIR` output, e.g. from two commits, or from
one build with a schedule change behind an environment variable; or the same directory twice
with --old-env setting a run-time variable (RESGEN_BATCH_SPLIT=off) for OLD's runner only. Each is linked with
benchmarks/bench_runner.c (built into the directory as `runner`), both runners load the weights
and input that `resgen bench NET --batch N` left in its cache (run that first), and then single
runs alternate, OLD NEW NEW OLD ..., so load from other work on a shared machine falls on both
alike. Prints both medians, their ratio, the median and quartiles of the per-pair ratios NEW/OLD
and how many pairs NEW won. Their logits must agree to the network tests' tolerance
(1e-3 x max(1, max |logit|)), else the status is 1.
"""
import argparse
import array
import os
import statistics
import subprocess
import sys

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_runner(directory, net):
    runner = os.path.join(directory, "runner")
    cc = os.environ.get("CC") or "cc"
    subprocess.run([cc, "-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", f"-DRG_NET={net}",
                    f'-DRG_HEADER="{net}.h"', f"-I{directory}", os.path.join(SOURCE, "benchmarks", "bench_runner.c"),
                    os.path.join(directory, f"lib{net}.a"), "-lstdc++", "-lm", "-lpthread", "-ldl", "-o", runner],
                   check=True)
    return runner


def start(runner, data, batch, threads, out, env=None):
    p = subprocess.Popen([runner, os.path.join(data, "weights.safetensors"), os.path.join(data, f"input-b{batch}.bin"),
                          str(batch), str(threads), out, "3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=env)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        sys.exit(f"paired_libraries: {runner} did not start (said {line.strip()!r})")
    return p


def seconds(p, runs):
    p.stdin.write(f"time {runs}\n")
    p.stdin.flush()
    return [float(x) for x in p.stdout.readline().split()[1:]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("net")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=150)
    ap.add_argument("--old-env", action="append", default=[], metavar="NAME=VALUE",
                    help="set in OLD's environment only (repeatable)")
    a = ap.parse_args()
    cache = os.environ.get("RESGEN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "resgen")
    matches = sorted(d for d in os.listdir(os.path.join(cache, "bench")) if d.startswith(a.net + "-"))
    data = next((os.path.join(cache, "bench", d) for d in matches
                 if os.path.exists(os.path.join(cache, "bench", d, f"input-b{a.batch}.bin"))), None)
    if data is None:
        sys.exit(f"paired_libraries: no weights and input for {a.net} at batch {a.batch} in {cache}/bench: "
                 f"run `resgen bench {a.net} --batch {a.batch}` first")
    old_env = dict(os.environ)
    for setting in a.old_env:
        name, eq, value = setting.partition("=")
        if not name or not eq:
            sys.exit(f"paired_libraries: --old-env wants NAME=VALUE, got {setting!r}")
        old_env[name] = value
    outs = [os.path.join(d, f"logits-b{a.batch}-{which}.bin") for d, which in ((a.old, "old"), (a.new, "new"))]
    old = start(build_runner(a.old, a.net), data, a.batch, a.threads, outs[0], old_env)
    new = start(build_runner(a.new, a.net), data, a.batch, a.threads, outs[1])
    seconds(old, 3), seconds(new, 3)
    t_old, t_new, ratios = [], [], []
    for i in range(a.pairs):
        if i % 2:
            y = seconds(new, 1)[0]
            x = seconds(old, 1)[0]
        else:
            x = seconds(old, 1)[0]
            y = seconds(new, 1)[0]
        t_old.append(x), t_new.append(y), ratios.append(y / x)
    for p in (old, new):
        p.stdin.write("quit\n")
        p.stdin.flush()
        p.wait()
    q = sorted(ratios)
    n = len(q)
    print(f"{a.net} batch {a.batch}, {a.threads} threads, {n} pairs: old {1e3 * statistics.median(t_old):.2f} ms, "
          f"new {1e3 * statistics.median(t_new):.2f} ms, new/old {statistics.median(t_new) / statistics.median(t_old):.3f}; "
          f"per pair {statistics.median(ratios):.3f} (quartiles {q[n // 4]:.3f} to {q[3 * n // 4]:.3f}), "
          f"new faster in {sum(r < 1 for r in ratios)} of {n}")
    logits = [array.array("f", open(o, "rb").read()) for o in outs]
    diff = max(abs(x - y) for x, y in zip(*logits))
    bound = 1e-3 * max(1.0, max(abs(x) for x in logits[0]))
    print(f"logits: max |new - old| {diff:.2e} ({'within' if diff <= bound else 'OVER'} {bound:.1e})")
    return 0 if diff <= bound and len(logits[0]) == len(logits[1]) else 1


if __name__ == "__main__":
    sys.exit(main())
