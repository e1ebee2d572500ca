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
    """Seeded weights and calibrated batch-norm, as resnet_reference.build (which needs torchvision)."""
    torch.manual_seed(seed)
    if name.startswith("cifar_resnet"):
        m, hw = ref.CifarResNet(int(name[len("cifar_resnet"):]), 10, 3), 32
    else:
        try:
            import torchvision
            m = getattr(torchvision.models, name)(weights=None)
        except ImportError:
            m = {"resnet18": lambda: ResNet(Basic, (2, 2, 2, 2)), "resnet50": lambda: ResNet(Bottleneck, (3, 4, 6, 3))}[name]()
        hw = 64
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


class Lib:
    def __init__(self, path, net):
        self.lib = ctypes.CDLL(path)
        self.lib.bench_create.argtypes = [ctypes.c_char_p]
        self.lib.bench_run.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
        self.lib.bench_error.restype = ctypes.c_char_p
        self.net = net

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{self.net}: {what}: {self.lib.bench_error().decode()}")

    def create(self, weights):
        self.check(self.lib.bench_create(weights.encode()), "create")

    def run(self, x, y):
        self.check(self.lib.bench_run(x.shape[0], x.ctypes.data, x.size, y.ctypes.data, y.size), "run")


def compare(y, r):
    tol = 1e-3 * max(1.0, float(np.abs(r).max()))
    err = float(np.abs(y - r).max())
    bad = [i for i in range(r.shape[0])
           if np.sort(r[i])[-1] - np.sort(r[i])[-2] > 2 * tol and np.argmax(y[i]) != np.argmax(r[i])]
    return err, tol, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--libs", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--nets", nargs="+", default=["cifar_resnet56", "resnet18", "resnet50"])
    ap.add_argument("--rounds1", type=int, default=50, help="timed rounds at batch 1")
    ap.add_argument("--rounds32", type=int, default=12, help="timed rounds at batch 32")
    ap.add_argument("--bench", default="resnet50", help="the network timed against PyTorch")
    args = ap.parse_args()
    dev = os.environ.get("RESGEN_CHECK_DEVICE", "cuda")
    if dev == "cuda":
        if not torch.cuda.is_available():
            sys.exit("error: PyTorch sees no CUDA device")
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| cuDNN", torch.backends.cudnn.version())
    ok = True
    libs = {}
    for net in args.nets:
        path = os.path.join(args.work, f"libbench_{net}.so")
        if not os.path.exists(path):
            print(f"skip {net}: no library in {args.libs}")
            continue
        t0 = time.time()
        model = build(net)
        weights = os.path.join(args.work, f"{net}.safetensors")
        ref.save_safetensors(weights, ref.state_dict_f32(model))
        lib = Lib(path, net)
        lib.create(weights)
        hw = 32 if net.startswith("cifar") else 224
        model = model.to(dev)
        for n in (1, 3):
            x = torch.randn(n, 3, hw, hw, generator=torch.Generator().manual_seed(n))
            with torch.no_grad():
                r = model(x.to(dev)).cpu().numpy()
            xn = np.ascontiguousarray(x.numpy(), dtype=np.float32)
            y = np.empty(r.shape, np.float32)
            lib.run(xn, y)
            err, tol, bad = compare(y, r)
            good = err <= tol and not bad and np.isfinite(y).all()
            ok &= good
            print(f"{'ok  ' if good else 'FAIL'} {net} batch {n}: max|y-ref| = {err:.3g} (tolerance {tol:.3g}), "
                  f"argmax mismatches {bad} ({time.time() - t0:.1f} s)")
        libs[net] = (lib, model)

    if args.bench in libs:
        lib, model = libs[args.bench]
        hw = 32 if args.bench.startswith("cifar") else 224
        classes = 10 if args.bench.startswith("cifar") else 1000
        for batch, rounds in ((1, args.rounds1), (32, args.rounds32)):
            x = torch.randn(batch, 3, hw, hw, generator=torch.Generator().manual_seed(7))
            xn = np.ascontiguousarray(x.numpy(), dtype=np.float32)
            y = np.empty((batch, classes), np.float32)

            def ours():
                lib.run(xn, y)

            def theirs():
                with torch.no_grad():
                    model(x.to(dev, non_blocking=False)).cpu()

            for _ in range(3):  # warm-up: kernels loaded, cuDNN's algorithm search, allocations
                ours()
                theirs()
            t_ours, t_theirs = [], []
            for _ in range(rounds):
                for f, acc in ((ours, t_ours), (theirs, t_theirs)):
                    t = time.perf_counter()
                    f()
                    acc.append(time.perf_counter() - t)
            a, b = statistics.median(t_ours) * 1e3, statistics.median(t_theirs) * 1e3
            goal = a <= b if batch == 1 else (batch / a) >= 0.7 * (batch / b)
            print(f"{args.bench} batch {batch}: resgen {a:.2f} ms, PyTorch {b:.2f} ms (medians of {rounds}, interleaved); "
                  f"resgen throughput {batch / a * 1e3:.0f} img/s = {b / a * 100:.0f}% of PyTorch's; "
                  f"goal {'met' if goal else 'missed'} ({'latency <= PyTorch' if batch == 1 else '>= 70% of PyTorch'})")
    print("correctness:", "all ok" if ok else "FAILURES")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
