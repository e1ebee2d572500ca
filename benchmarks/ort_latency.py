#!/usr/bin/env python3
"""ONNX Runtime's latency on a zoo network, as a reference point for benchmarks/latency.sh.

  /usr/bin/python3 benchmarks/ort_latency.py export NET OUT.onnx [--input CxHxW]   (Debian's torch)
  .venv-ort/bin/python benchmarks/ort_latency.py time OUT.onnx [--batch 1] [--threads 2] [--runs 30]

Exporting and timing run under different interpreters: ONNX Runtime's wheel pulls a numpy that
Debian's torch 1.13 cannot use, so it lives in a venv of its own:
  /usr/bin/python3 -m venv .venv-ort && .venv-ort/bin/pip install onnxruntime
"""
import argparse
import os
import sys
import time


def export(args):
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
    import resnet_reference
    c, h, w = (int(v) for v in args.input.split("x"))
    model = resnet_reference.build(args.net)
    torch.onnx.export(model, torch.randn(1, c, h, w), args.out, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13)
    print(f"wrote {args.out}")


def timing(args):
    import numpy as np
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    shape = [args.batch] + list(sess.get_inputs()[0].shape[1:])
    x = np.random.RandomState(0).randn(*shape).astype(np.float32)
    for _ in range(5):
        sess.run(None, {"x": x})
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        sess.run(None, {"x": x})
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"onnxruntime {ort.__version__} batch {args.batch}, {args.threads} threads: median "
          f"{1e3 * times[len(times) // 2]:.2f} ms, min {1e3 * times[0]:.2f} ms over {args.runs} runs")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("net")
    e.add_argument("out")
    e.add_argument("--input", default="3x224x224")
    t = sub.add_parser("time")
    t.add_argument("model")
    t.add_argument("--batch", type=int, default=1)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    export(args) if args.cmd == "export" else timing(args)


if __name__ == "__main__":
    main()
