#!/usr/bin/python3
"""Checks resgen tune end to end on small networks.

  check_tune.py RESGEN tune_and_apply|resume|faults

tune_and_apply: a short tune of cifar_resnet20 into a temporary database, then
  generate --schedule tuned:DB (through tests/network/check_network.py) against PyTorch, once
  with the whole database and once with only its non-manual records (so schedules other than
  the manual one are applied and checked).
resume: two short tunes of cifar_resnet8 into one database; the second reuses every record of
  the first and measures only new candidates.
faults: candidates made to crash (the manual schedule) and to hang (Adams2019) through the
  RESGEN_TUNE_FAULT testing hook are recorded as failed and timed out; the tuner finishes, and
  generate --schedule tuned:DB applies the verified records and names the kernels left to the
  manual schedule.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK_NETWORK = os.path.join(HERE, "..", "network", "check_network.py")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def tune(resgen, net, db, *extra, env=None):
    cmd = [resgen, "tune", net, "--db", db, "--jobs", "2", *extra]
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    sys.stdout.write(p.stdout[-3000:])
    sys.stdout.write(p.stderr[-3000:])
    if p.returncode != 0:
        fail(f"resgen tune exited {p.returncode}")
    return p


def records(db):
    with open(db) as f:
        return [json.loads(line) for line in f if line.strip()]


def key(r):
    s = r["schedule"]
    if s["kind"] == "knobs":
        return (f"cv{s['channel_vectors']}-t{s['tile']}-r{s['rows']}-b{s['channel_block']}"
                f"-o{s.get('order', 0)}-p{s.get('padded', 0)}")
    return s["kind"] + ":" + s.get("autoscheduler", "") + s.get("params", "")


def check_network(resgen, net, db):
    cmd = [sys.executable, CHECK_NETWORK, resgen, net, "--schedule", "tuned:" + db, "--batch", "1", "3"]
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        fail(f"{net} with --schedule tuned:{db} does not match PyTorch")


def tune_and_apply(resgen, tmp):
    db = os.path.join(tmp, "db.jsonl")
    tune(resgen, "cifar_resnet20", db, "--trials", "40", "--patience", "3")
    recs = records(db)
    if len(recs) != 40:
        fail(f"--trials 40 wrote {len(recs)} records")
    ok = [r for r in recs if r["status"] == "ok"]
    if not ok or any(r["time_ms"] <= 0 for r in ok):
        fail("no verified, timed records")
    if not os.path.exists(db + ".html") or "<svg" not in open(db + ".html").read():
        fail("no HTML report with curves beside the database")
    check_network(resgen, "cifar_resnet20", db)
    others = [r for r in ok if r["schedule"]["kind"] != "manual"]
    if not others:
        fail("no verified record other than the manual schedule")
    db2 = os.path.join(tmp, "not_manual.jsonl")
    with open(db2, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in others)
    check_network(resgen, "cifar_resnet20", db2)


def resume(resgen, tmp):
    db = os.path.join(tmp, "db.jsonl")
    tune(resgen, "cifar_resnet8", db, "--trials", "8")
    first = records(db)
    p = tune(resgen, "cifar_resnet8", db, "--trials", "8")
    if f"{len(first)} records reused" not in p.stdout:
        fail(f"the second run does not say it reused the {len(first)} records of the first")
    recs = records(db)
    if len(recs) != len(first) + 8:
        fail(f"expected {len(first) + 8} records after the second run, found {len(recs)}")
    seen = set()
    for r in recs:
        if r["measure"]["method"] == "paired":
            continue  # a confirmation round re-times finalists on purpose
        k = (r["signature"], key(r))
        if k in seen:
            fail(f"{k} was measured twice: the second run did not resume")
        seen.add(k)


def faults(resgen, tmp):
    db = os.path.join(tmp, "db.jsonl")
    env = dict(os.environ, RESGEN_TUNE_FAULT="crash:manual,hang:auto:Adams2019")
    # cifar_resnet8 has 10 kernels: 10 manual candidates (all crash), then the autoschedulers.
    tune(resgen, "cifar_resnet8", db, "--trials", "16", "--timeout", "8", env=env)
    recs = records(db)
    manual = [r for r in recs if r["schedule"]["kind"] == "manual"]
    adams = [r for r in recs if r["schedule"].get("autoscheduler") == "Adams2019"]
    if len(recs) != 16 or len(manual) != 10 or not adams:
        fail(f"expected 16 records, 10 manual and some Adams2019, found {len(recs)}, {len(manual)}, {len(adams)}")
    for r in manual:
        if r["status"] != "failed" or "crashed" not in r.get("error", ""):
            fail(f"a crashing candidate was recorded as {r['status']} ({r.get('error')})")
    for r in adams:
        if r["status"] != "timeout":
            fail(f"a hanging candidate was recorded as {r['status']} ({r.get('error')})")
    tuned = {r["signature"] for r in recs if r["status"] == "ok"}
    out = os.path.join(tmp, "gen")
    p = subprocess.run([resgen, "generate", "cifar_resnet8", "--out", out, "--schedule", "tuned:" + db],
                       capture_output=True, text=True)
    print(p.stdout, p.stderr)
    if p.returncode != 0 or f"{len(tuned)} of 10 kernels" not in p.stdout:
        fail(f"generate --schedule tuned:DB should apply records to {len(tuned)} kernels, the manual schedule "
             "to the others, and say so")
    for r in manual:
        if r["signature"] not in tuned and "\n  " + r["signature"] not in p.stdout:
            fail(f"{r['signature']} has no usable record but is not named")


def main():
    resgen, check = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        {"tune_and_apply": tune_and_apply, "resume": resume, "faults": faults}[check](resgen, tmp)
    print("ok")


if __name__ == "__main__":
    main()
