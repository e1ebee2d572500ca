#!/usr/bin/env python3
"""The peers of `resgen bench`: the same network, weights and input in PyTorch and ONNX Runtime.

  /usr/bin/python3 benchmarks/peers.py prepare NET --dir D --input CxHxW --classes K --batch N [--onnx]
      (Debian's torch) builds NET with tests/reference/resnet_reference.build (seed 0, batch-norm
      statistics calibrated), writes D/weights.safetensors (for resgen), D/state.pt (for torch),
      D/input-bN.bin (N,C,H,W float32, seeded), D/reference-bN.bin (PyTorch eager's N,K output)
      and, with --onnx, D/model.onnx (batch dynamic). Files already there are kept.
  PYTHON benchmarks/peers.py worker KIND --dir D --net NET --input CxHxW --classes K --batch N
                             --threads T --out OUT.bin --warmup W
      KIND: ort (run with the ONNX Runtime venv's python), torch-eager, torch-jit (TorchScript,
      traced and frozen). Loads the model, runs once and writes the N,K float32 output to OUT.bin,
      runs W warm-up iterations, prints "ready", then answers the commands of
      benchmarks/bench_runner.c on stdin: "time K" -> "times S1 .. SK", "quit" -> "rss KIB".

ONNX Runtime lives in a venv of its own (tools/setup_bench.sh): its wheel pulls a numpy that
Debian's torch cannot use. The export therefore runs here under Debian's python.
"""
import argparse
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def shape_of(text):
    return tuple(int(v) for v in text.split("x"))


def build(args):
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
    import resnet_reference
    c, _, _ = shape_of(args.input)
    return resnet_reference, resnet_reference.build(args.net, seed=0, num_classes=args.classes, in_channels=c)


def replace(path, write):
    """Writes path through a temporary file, so a killed run leaves no half file behind."""
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)


def prepare(args):
    import numpy as np
    import torch
    ref, model = build(args)
    os.makedirs(args.dir, exist_ok=True)
    weights = os.path.join(args.dir, "weights.safetensors")
    if not os.path.exists(weights):
        replace(weights, lambda p: ref.save_safetensors(p, ref.state_dict_f32(model)))
    state = os.path.join(args.dir, "state.pt")
    if not os.path.exists(state):
        replace(state, lambda p: torch.save(model.state_dict(), p))
    c, h, w = shape_of(args.input)
    x_path = os.path.join(args.dir, f"input-b{args.batch}.bin")
    if not os.path.exists(x_path):
        x = np.random.RandomState(1).standard_normal((args.batch, c, h, w)).astype(np.float32)
        replace(x_path, lambda p: x.tofile(p))
    ref_path = os.path.join(args.dir, f"reference-b{args.batch}.bin")
    if not os.path.exists(ref_path):
        with torch.no_grad():
            y = model(torch.from_numpy(np.fromfile(x_path, dtype=np.float32).reshape(args.batch, c, h, w)))
        replace(ref_path, lambda p: y.numpy().astype(np.float32).tofile(p))
    onnx_path = os.path.join(args.dir, "model.onnx")
    if args.onnx and not os.path.exists(onnx_path):
        def export(p):
            with torch.no_grad():
                torch.onnx.export(model, torch.zeros(1, c, h, w), p, input_names=["x"], output_names=["y"],
                                  dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13)
        replace(onnx_path, export)


def read_input(args):
    import numpy as np
    c, h, w = shape_of(args.input)
    path = os.path.join(args.dir, f"input-b{args.batch}.bin")
    x = np.fromfile(path, dtype=np.float32)
    if x.size != args.batch * c * h * w:
        sys.exit(f"error: {path} holds {x.size} floats, expected {args.batch}x{c}x{h}x{w}")
    return x.reshape(args.batch, c, h, w)


def ort_runner(args):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(os.path.join(args.dir, "model.onnx"), opts, providers=["CPUExecutionProvider"])
    x = read_input(args)
    return lambda: sess.run(None, {"x": x})[0]


def torch_runner(args, jit):
    import torch
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    _, model = build(args)
    model.load_state_dict(torch.load(os.path.join(args.dir, "state.pt")))
    model.eval()
    x = torch.from_numpy(read_input(args))
    with torch.no_grad():
        if jit:
            model = torch.jit.freeze(torch.jit.trace(model, x))

    def run():
        with torch.no_grad():
            return model(x).numpy()
    return run


def worker(args):
    if args.kind == "ort":
        run = ort_runner(args)
    else:
        run = torch_runner(args, args.kind == "torch-jit")
    y = run()
    replace(args.out, lambda p: y.astype("float32").tofile(p))
    for _ in range(args.warmup):
        run()
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["time"] and len(words) == 2 and int(words[1]) > 0:
            times = []
            for _ in range(int(words[1])):
                start = time.perf_counter()
                run()
                times.append(time.perf_counter() - start)
            print("times " + " ".join(f"{t:.9f}" for t in times), flush=True)
        elif words[:1] == ["quit"]:
            break
        else:
            sys.exit(f"error: peers.py worker: unknown command {line.strip()!r}")
    print(f"rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("prepare", "worker"):
        p = sub.add_parser(name)
        if name == "worker":
            p.add_argument("kind", choices=["ort", "torch-eager", "torch-jit"])
        else:
            p.add_argument("net")
        p.add_argument("--dir", required=True)
        p.add_argument("--input", required=True)
        p.add_argument("--classes", type=int, required=True)
        p.add_argument("--batch", type=int, required=True)
        if name == "prepare":
            p.add_argument("--onnx", action="store_true")
        else:
            p.add_argument("--net", required=True)
            p.add_argument("--threads", type=int, required=True)
            p.add_argument("--out", required=True)
            p.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    prepare(args) if args.cmd == "prepare" else worker(args)


if __name__ == "__main__":
    main()
