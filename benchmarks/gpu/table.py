#!/usr/bin/env python3
"""The per-layer table of a check.py run (its --json file): for each batch, each library's
summed per-layer time, then one row per distinct layer shape with every library's time (us) and
the fastest starred. What the convolution rule in schedules/gpu_manual.cpp was read from.

  benchmarks/gpu/table.py benchmarks/gpu/results/h100_sweep_2026-11-27.json
"""
import json
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    report = json.load(open(sys.argv[1]))
    layers = report["layers"]
    print("device:", report["device"])
    for batch, per in report["per_layer"].items():
        names = sorted(per, key=lambda name: sum(per[name]))
        short = {name: name.split("@")[1] if "@" in name else "manual" for name in names}
        print(f"\nbatch {batch}, per-layer sums (ms): " + ", ".join(f"{short[n]} {sum(per[n]):.2f}" for n in names))
        print(f"{'first layer of the shape':28} {'shape':46} {'n':>3} " + " ".join(f"{short[n][:9]:>10}" for n in names))
        seen = set()
        for i, (name, shape) in enumerate(layers):
            if shape in seen:
                continue
            seen.add(shape)
            count = sum(1 for _, s in layers if s == shape)
            best = min(per[n][i] for n in names)
            cells = " ".join(("*" if per[n][i] == best else " ") + f"{per[n][i] * 1e3:9.0f}" for n in names)
            print(f"{name[:28]:28} {shape[:46]:46} {count:3} {cells}")


if __name__ == "__main__":
    main()
