#!/usr/bin/env python3
"""Device-machine check of resgen's CUDA libraries against PyTorch (driven by check.sh).

Correctness: resnet18, resnet50 (3x224x224) and cifar_resnet56, weights from seeds with
calibrated batch-norm (as tests/reference/resnet_reference.py builds them), compared with PyTorch
in fp32 on the same device (TF32 off) at DESIGN.md's tolerance: max|y - ref| <= 1e-3 *
max(1, max|ref|), same argmax where the reference's top-2 gap exceeds twice that.
Latency: resnet50 at batch 1 and 32, resgen and PyTorch (cuDNN, benchmark mode, TF32 off)
interleaved run by run, both host-to-host (input copied in, logits copied out); medians.
Needs only PyTorch (torchvision if present; a local torchvision-compatible ResNet otherwise).
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "reference"))
import resnet_reference as ref  # noqa: E402  (CIFAR models, safetensors writer)


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, down):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = down

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, down):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = down

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    """torchvision's ResNet (v1.5) with its state_dict names, for machines without torchvision."""

    def __init__(self, block, layers, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if i == 0 else 2
            mods = []
            for b in range(blocks):
                s = stride if b == 0 else 1
                down = None
                if b == 0 and (s != 1 or cin != planes * block.expansion):
                    down = nn.Sequential(nn.Conv2d(cin, planes * block.expansion, 1, s, bias=False),
                                         nn.BatchNorm2d(planes * block.expansion))
                mods.append(block(cin, planes, s, down))
                cin = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*mods))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(name, seed=0):
    """resnet_reference.build (torchvision's networks); without torchvision, the same seeded
    weights and batch-norm calibration for the CIFAR networks, resnet18 and resnet50."""
    try:
        import torchvision  # noqa: F401
        return ref.build(name, seed)
    except ImportError:
        pass
    torch.manual_seed(seed)
    if name.startswith("cifar_resnet"):
        m, hw = ref.CifarResNet(int(name[len("cifar_resnet"):]), 10, 3), 32
    elif name.startswith("preact_resnet"):
        m, hw = ref.PreActResNet(int(name[len("preact_resnet"):]), 10, 3), 32
    elif name in ("resnet18", "resnet50"):
        m = {"resnet18": lambda: ResNet(Basic, (2, 2, 2, 2)), "resnet50": lambda: ResNet(Bottleneck, (3, 4, 6, 3))}[name]()
        hw = 64
    else:
        raise RuntimeError(f"{name} needs torchvision")
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
            bn.reset_running_stats()
            bn.momentum = None
        m.train()
        m(torch.randn(4, 3, hw, hw))
        for bn in bns:
            bn.momentum = 0.1
            bn.running_mean.add_(torch.empty_like(bn.running_mean).uniform_(-0.1, 0.1))
            bn.running_var.mul_(torch.empty_like(bn.running_var).uniform_(0.8, 1.25))
    return m.eval()


def lowered_layers(folder):
    """[(name, description)] in the library's layer order, from prepare.sh's lowered.txt."""
    layers = []
    with open(os.path.join(folder, "lowered.txt")) as f:
        for line in f:
            # "  v3 = conv(v2)  layer1.0.conv1  k2: conv 16x32x32->16x32x32 k3 s1 p1 g1 relu  [bn folded]"
            parts = line.strip().split("  ")
            layers.append((parts[1], parts[2].split(": ", 1)[1] if len(parts) > 2 else ""))
    return layers


class Lib:
    def __init__(self, path, net):
        self.lib = ctypes.CDLL(path)
        self.lib.bench_create.argtypes = [ctypes.c_char_p]
        self.lib.bench_run.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
        self.lib.bench_run_profiled.argtypes = self.lib.bench_run.argtypes + [ctypes.POINTER(ctypes.c_double), ctypes.c_int]
        self.lib.bench_error.restype = ctypes.c_char_p
        self.net = net

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{self.net}: {what}: {self.lib.bench_error().decode()}")

    def create(self, weights):
        self.check(self.lib.bench_create(weights.encode()), "create")

    def run(self, x, y):
        self.check(self.lib.bench_run(x.shape[0], x.ctypes.data, x.size, y.ctypes.data, y.size), "run")

    def profile(self, x, y, layers):
        """Seconds per layer of one run, each layer waited for."""
        seconds = (ctypes.c_double * layers)()
        self.check(self.lib.bench_run_profiled(x.shape[0], x.ctypes.data, x.size, y.ctypes.data, y.size, seconds, layers),
                   "run_profiled")
        return list(seconds)


def compare(y, r):
    tol = 1e-3 * max(1.0, float(np.abs(r).max()))
    err = float(np.abs(y - r).max())
    bad = [i for i in range(r.shape[0])
           if np.sort(r[i])[-1] - np.sort(r[i])[-2] > 2 * tol and np.argmax(y[i]) != np.argmax(r[i])]
    return err, tol, bad


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def check_net(name, folder, args, dev, model=None, weights=None):
    """Builds (or reuses) the PyTorch model and weights of `name`, loads `folder`'s library and
    compares logits at batches 1, 3 and 9 (9: the convolutions' large-batch specialization).
    Returns (ok, lib, model, weights)."""
    net = name.split("@")[0]
    t0 = time.time()
    if model is None:
        model = build(net)
        weights = os.path.join(args.work, f"{net}.safetensors")
        ref.save_safetensors(weights, ref.state_dict_f32(model))
        model = model.to(dev)
    lib = Lib(os.path.join(args.work, f"libbench_{name}.so"), net)
    lib.create(weights)
    hw = 32 if net.startswith(("cifar", "preact")) else 224
    ok = True
    for n in (1, 3, 9):
        x = torch.randn(n, 3, hw, hw, generator=torch.Generator().manual_seed(n))
        with torch.no_grad():
            r = model(x.to(dev)).cpu().numpy()
        xn = np.ascontiguousarray(x.numpy(), dtype=np.float32)
        y = np.empty(r.shape, np.float32)
        lib.run(xn, y)
        err, tol, bad = compare(y, r)
        good = bool(err <= tol and not bad and np.isfinite(y).all())
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {name} batch {n}: max|y-ref| = {err:.3g} (tolerance {tol:.3g}), "
              f"argmax mismatches {bad} ({time.time() - t0:.1f} s)", flush=True)
    return ok, lib, model, weights


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--libs", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--nets", nargs="*", help="networks checked (default: every folder without '@' in --libs)")
    ap.add_argument("--rounds1", type=int, default=50, help="timed rounds at batch 1")
    ap.add_argument("--rounds8", type=int, default=20, help="timed rounds at batch 8")
    ap.add_argument("--rounds32", type=int, default=12, help="timed rounds at batch 32")
    ap.add_argument("--bench", default="resnet50", help="the network timed against PyTorch")
    ap.add_argument("--json", default=os.path.join(os.environ.get("OUT", "."), "gpu_check.json"),
                    help="where the figures are written")
    args = ap.parse_args()
    dev = os.environ.get("RESGEN_CHECK_DEVICE", "cuda")
    report = {"device": dev}
    if dev == "cuda":
        if not torch.cuda.is_available():
            sys.exit("error: PyTorch sees no CUDA device")
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        report["device"] = torch.cuda.get_device_name(0)
        print("device:", report["device"], "| torch", torch.__version__, "| cuDNN", torch.backends.cudnn.version())
    folders = sorted(d for d in os.listdir(args.libs) if os.path.isdir(os.path.join(args.libs, d)))
    nets = args.nets or [d for d in folders if "@" not in d]
    variants = [d for d in folders if d.startswith(args.bench + "@")]

    # Correctness: every network, then every variant of the benchmarked one.
    ok = True
    report["correct"] = {}
    bench = None
    for net in nets:
        if not os.path.exists(os.path.join(args.work, f"libbench_{net}.so")):
            print(f"skip {net}: no library in {args.libs}")
            continue
        try:
            good, lib, model, weights = check_net(net, os.path.join(args.libs, net), args, dev)
        except Exception as e:  # one network's failure must not hide the others'
            good, lib = False, None
            print(f"FAIL {net}: {e}", flush=True)
        ok &= good
        report["correct"][net] = good
        if net == args.bench and lib:
            bench = (lib, model, weights)
        elif lib:
            lib.lib.bench_destroy()
        torch.cuda.empty_cache() if dev == "cuda" else None
    if not bench:
        print("correctness:", "all ok" if ok else "FAILURES")
        sys.exit(0 if ok else 1)
    libs = {args.bench: bench[0]}
    for v in variants:
        try:
            good, lib, _, _ = check_net(v, os.path.join(args.libs, v), args, dev, bench[1], bench[2])
        except Exception as e:
            good, lib = False, None
            print(f"FAIL {v}: {e}", flush=True)
        ok &= good
        report["correct"][v] = good
        if good:
            libs[v] = lib

    # Latency: every library of the benchmarked network and PyTorch, interleaved round by round.
    model = bench[1]
    hw = 32 if args.bench.startswith(("cifar", "preact")) else 224
    classes = 10 if args.bench.startswith(("cifar", "preact")) else 1000
    layers = lowered_layers(os.path.join(args.libs, args.bench))
    report["layers"] = layers
    report["latency"], report["per_layer"] = {}, {}
    for batch, rounds in ((1, args.rounds1), (8, args.rounds8), (32, args.rounds32)):
        x = torch.randn(batch, 3, hw, hw, generator=torch.Generator().manual_seed(7))
        xn = np.ascontiguousarray(x.numpy(), dtype=np.float32)
        y = np.empty((batch, classes), np.float32)

        def theirs():
            with torch.no_grad():
                model(x.to(dev, non_blocking=False)).cpu()

        runs = {name: (lambda lib=lib: lib.run(xn, y)) for name, lib in libs.items()}
        runs["pytorch"] = theirs
        for _ in range(3):  # warm-up: kernels loaded, cuDNN's algorithm search, allocations
            for f in runs.values():
                f()
        times = {name: [] for name in runs}
        for _ in range(rounds):
            for name, f in runs.items():
                times[name].append(timed(f))
        med = {name: statistics.median(t) * 1e3 for name, t in times.items()}
        report["latency"][batch] = med
        a, b = med[args.bench], med["pytorch"]
        goal = {1: ("latency <= PyTorch", a <= b), 32: (">= 70% of PyTorch", b / a >= 0.7)}.get(batch)
        print(f"{args.bench} batch {batch}: resgen {a:.2f} ms, PyTorch {b:.2f} ms (medians of {rounds}, interleaved); "
              f"resgen throughput {batch / a * 1e3:.0f} img/s = {b / a * 100:.0f}% of PyTorch's"
              + (f"; goal {'met' if goal[1] else 'missed'} ({goal[0]})" if goal else ""))
        for name in libs:
            if name != args.bench:
                print(f"  {name}: {med[name]:.2f} ms ({med[name] / a:.2f}x the manual schedule)")

        # Per layer: each library's layers waited for one by one; medians of a few runs.
        per = {}
        for name, lib in libs.items():
            samples = [lib.profile(xn, y, len(layers)) for _ in range(max(3, rounds // 4))]
            per[name] = [statistics.median(s[i] for s in samples) * 1e3 for i in range(len(layers))]
        report["per_layer"][batch] = per
        base = per[args.bench]
        total = sum(base)
        print(f"  per layer at batch {batch} (manual, layers waited for: {total:.2f} ms in all); worst 12, "
              f"with the fastest library for each:")
        for i in sorted(range(len(layers)), key=lambda i: -base[i])[:12]:
            best = min(per, key=lambda name: per[name][i])
            label = best.split("@")[1] if "@" in best else "manual"
            print(f"    {base[i]:8.3f} ms {base[i] / total * 100:5.1f}%  {layers[i][0]:<28} {layers[i][1]:<44} "
                  f"best {label} {per[best][i]:.3f} ms")
        best_sum = sum(min(per[name][i] for name in per) for i in range(len(layers)))
        print(f"  per layer, the fastest library's time for each layer sums to {best_sum:.2f} ms "
              f"({total / best_sum:.2f}x less than manual)")
    with open(args.json, "w") as f:
        json.dump(report, f)
    print("figures written to", args.json)
    print("correctness:", "all ok" if ok else "FAILURES")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
