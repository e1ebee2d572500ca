#!/usr/bin/env bash
# Whole-network latency of the manual schedule against a tuned database, paired: the two
# libraries run alternately, ROUNDS times ITERATIONS runs each, so load from other work on a
# shared machine hits both alike. Prints each round's medians, the median of the per-round
# ratios, and the medians of the round medians.
#   benchmarks/tuned_latency.sh NET DB [ROUNDS] [ITERATIONS] [THREADS]
# Needs the build (tools/setup.sh) and Debian's python3-torch for the weights.
set -euo pipefail
cd "$(dirname "$0")/.."
net=$1; db=$2; rounds=${3:-7}; iters=${4:-20}; threads=${5:-2}
work=build/bench/tuned_$net
mkdir -p "$work"
/usr/bin/python3 - "$net" "$work/weights.safetensors" <<'PY'
import sys
sys.path.insert(0, "tests/reference")
import resnet_reference as r
r.save_safetensors(sys.argv[2], r.state_dict_f32(r.build(sys.argv[1])))
PY
for s in manual tuned; do
  sched=manual; [ $s = tuned ] && sched="tuned:$db"
  build/resgen generate "$net" --out "$work/$s" --schedule "$sched" >"$work/$s.log"
  grep -A100 "^tuned schedules" "$work/$s.log" | sed -n '1,/^[a-z_0-9]*: [0-9]* layers/p' | head -n -1 || true
  cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -DRG_NET="$net" -DRG_NAME="\"$net-$s\"" -include "$work/$s/$net.h" \
    benchmarks/latency.c "$work/$s/lib$net.a" -lstdc++ -lm -lpthread -ldl -o "$work/latency_$s"
done
/usr/bin/python3 - "$work" "$rounds" "$iters" "$threads" <<'PY'
import re, statistics, subprocess, sys
work, rounds, iters, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
med = {"manual": [], "tuned": []}
for r in range(rounds):
    for s in (["manual", "tuned"] if r % 2 == 0 else ["tuned", "manual"]):
        out = subprocess.run([f"{work}/latency_{s}", f"{work}/weights.safetensors", "1", iters, threads],
                             capture_output=True, text=True, check=True).stdout
        med[s].append(float(re.search(r"median ([0-9.]+) ms", out).group(1)))
    print(f"round {r + 1}: manual {med['manual'][-1]:.2f} ms, tuned {med['tuned'][-1]:.2f} ms")
ratios = [m / t for m, t in zip(med["manual"], med["tuned"])]
print(f"median of round medians: manual {statistics.median(med['manual']):.2f} ms, "
      f"tuned {statistics.median(med['tuned']):.2f} ms; manual/tuned per round: median {statistics.median(ratios):.3f} "
      f"(min {min(ratios):.3f}, max {max(ratios):.3f}); batch 1, {threads} threads")
PY
