#!/usr/bin/python3
"""Thousand-layer networks: library size, planned activation memory, generation memory.

    check_deep.py RESGEN CC WORKDIR

Generates cifar_resnet110, cifar_resnet1202 and preact_resnet1001 (weights not embedded, the
default named target) and checks that
  - each deep library is at most 1.5x the size of cifar_resnet110's (kernels are shared by
    distinct signatures; the per-layer tables are small);
  - the planned activation memory per image is at most 3x the largest activation tensor, and
    `resgen describe` and the C API (<NET>_activation_bytes) report the same figure;
  - generation stays under 4 GiB of peak memory.
Generation time is printed, not checked (timings belong in benchmarks).
"""
import os
import re
import subprocess
import sys
import time

resgen, cc, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def generate(net):
    start = time.monotonic()
    proc = subprocess.Popen([resgen, "generate", net, "--out", os.path.join(work, net)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"FAIL resgen generate {net}:\n{out}")
    rss = usage.ru_maxrss / 1024
    print(f"     generate {net}: {time.monotonic() - start:.1f} s, peak {rss:.0f} MiB")
    check(rss <= 4096, f"{net}: generation peak memory {rss:.0f} MiB <= 4096 MiB")
    return os.path.getsize(os.path.join(work, net, f"lib{net}.a"))


def c_api_activation_bytes(net):
    """What the generated library itself reports for one image."""
    src = os.path.join(work, f"{net}_act.c")
    exe = os.path.join(work, f"{net}_act")
    with open(src, "w") as f:
        f.write(f'#include <stdio.h>\n#include "{net}.h"\n'
                f"int main(void) {{ size_t b = 0; if ({net}_activation_bytes(1, &b)) return 1; "
                f'printf("%zu\\n", b); return 0; }}\n')
    d = os.path.join(work, net)
    subprocess.run([cc, "-std=c11", "-I", d, src, os.path.join(d, f"lib{net}.a"), "-lstdc++", "-lm", "-lpthread",
                    "-ldl", "-o", exe], check=True)
    return int(subprocess.run([exe], check=True, capture_output=True, text=True).stdout)


base = generate("cifar_resnet110")
for net in ("cifar_resnet1202", "preact_resnet1001"):
    size = generate(net)
    check(size <= 1.5 * base, f"{net}: library {size} bytes = {size / base:.2f}x cifar_resnet110's {base} (<= 1.5x)")
    desc = subprocess.run([resgen, "describe", net], check=True, capture_output=True, text=True).stdout
    planned, ratio, largest = re.search(
        r"activation memory per image: (\d+) bytes planned, ([\d.]+)x the largest tensor \((\d+) bytes\)", desc).groups()
    planned, largest = int(planned), int(largest)
    check(planned <= 3 * largest, f"{net}: activations {planned} bytes per image = {ratio}x the largest tensor (<= 3x)")
    reported = c_api_activation_bytes(net)
    check(reported == planned, f"{net}: the C API reports {reported} bytes per image, describe {planned}")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
