#!/usr/bin/python3
"""Train a CIFAR-style ResNet-20 on Fashion-MNIST and save its weights as safetensors.

The model is `CifarResNet(20, num_classes=10, in_channels=1)` from the resgen reference
definitions (resnet_reference.py), so the saved state_dict has exactly the parameter names
resgen reads.  Training runs on the CPU only and reads the Debian dataset files
(package "fashion-mnist") directly; nothing is downloaded.

Input preprocessing (must match whatever consumes the weights):
    x = pixel / 255                      # uint8 -> [0, 1]
    x = (x - FMNIST_MEAN) / FMNIST_STD   # Fashion-MNIST training-set mean / std
    shape N x 1 x 28 x 28, float32

Recipe: SGD (momentum 0.9, Nesterov), weight decay 5e-4 (on conv/linear weights only),
batch 128, one-cycle learning-rate schedule peaking at 0.1, augmentation by random
horizontal flip and random 28x28 crop of the image zero-padded (in normalized space, i.e. with
the background value) by 2 pixels.

Example:
    /usr/bin/python3 tools/train_fashion_mnist.py --epochs 6
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

# Block idle OpenMP threads instead of spinning: on a small, shared machine (2 cores, other
# jobs running) spinning threads at every barrier make training 2-3x slower.  Must be set
# before torch (libgomp) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
# The project's copy of the shared reference definitions (tests use the same file).
DEFAULT_REFERENCE_DIR = os.path.join(REPO, "tests", "reference")
DEFAULT_OUT = os.path.join(REPO, "examples", "fashion_mnist", "fashion_resnet20.safetensors")

# Mean and standard deviation of the Fashion-MNIST training pixels, after scaling to [0, 1].
FMNIST_MEAN = 0.2860
FMNIST_STD = 0.3530


def read_idx(path):
    """Read a (gzipped) IDX file: 2 zero bytes, dtype code, rank, big-endian u32 dims, data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, rank = struct.unpack_from(">HBB", raw, 0)
    if zero != 0 or dtype_code != 0x08:  # 0x08: unsigned byte, the only type MNIST files use
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack_from(f">{rank}I", raw, 4)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != math.prod(dims):
        raise ValueError(f"{path}: expected {math.prod(dims)} bytes of data, found {data.size}")
    return data.reshape(dims)


def load_split(data_dir, split):
    """Images as float32 N x 1 x 28 x 28 (normalized) and labels as int64 N; split: train|t10k."""
    images = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return preprocess(images), torch.from_numpy(labels.astype(np.int64))


def preprocess(images_u8):
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28: pixels/255, then (x - mean) / std."""
    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0)
    return ((x - FMNIST_MEAN) / FMNIST_STD).unsqueeze(1).contiguous()


def import_reference(reference_dir):
    sys.path.insert(0, os.path.abspath(reference_dir))
    import resnet_reference  # noqa: E402  (path set just above)

    return resnet_reference


def augment(x, pad, gen):
    """Random horizontal flip and random crop after `pad` pixels of background padding."""
    n, c, h, w = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if pad:
        background = -FMNIST_MEAN / FMNIST_STD  # a zero pixel after normalization
        xp = F.pad(x, (pad, pad, pad, pad), value=background)
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]  # n,1,h,1
        cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]  # n,1,1,w
        x = xp[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    return x.contiguous()


@torch.no_grad()
def evaluate(model, images, labels, batch_size=500):
    """Test accuracy (fraction) and mean cross-entropy, model in eval mode."""
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, images.shape[0], batch_size):
        logits = model(images[i : i + batch_size])
        y = labels[i : i + batch_size]
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    return correct / images.shape[0], loss / images.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="folder with the Fashion-MNIST *.gz IDX files")
    ap.add_argument("--reference-dir", default=DEFAULT_REFERENCE_DIR, help="folder holding resnet_reference.py")
    ap.add_argument("--out", default=DEFAULT_OUT, help="safetensors file to write")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1, help="peak learning rate of the one-cycle schedule")
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--pad", type=int, default=2, help="random-crop padding in pixels (0: no crop)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=100, help="progress line every N steps (0: off)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    ref = import_reference(args.reference_dir)

    train_x, train_y = load_split(args.data_dir, "train")
    test_x, test_y = load_split(args.data_dir, "t10k")
    print(f"train {tuple(train_x.shape)}, test {tuple(test_x.shape)}", flush=True)

    model = ref.CifarResNet(20, num_classes=10, in_channels=1)
    # Weight decay on conv / linear weights only, not on batch-norm gamma/beta or biases.
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, momentum=args.momentum, nesterov=True,
    )
    steps_per_epoch = math.ceil(train_x.shape[0] / args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch, pct_start=0.25
    )

    start = time.time()
    for epoch in range(args.epochs):
        t0 = time.time()
        model.train()
        perm = torch.randperm(train_x.shape[0], generator=gen)
        seen, correct, total_loss = 0, 0, 0.0
        for i in range(0, perm.numel(), args.batch_size):
            idx = perm[i : i + args.batch_size]
            x, y = augment(train_x[idx], args.pad, gen), train_y[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += y.numel()
            total_loss += loss.item() * y.numel()
            correct += (logits.argmax(1) == y).sum().item()
            step = i // args.batch_size + 1
            if args.log_every and step % args.log_every == 0:
                print(f"  epoch {epoch + 1} step {step}/{steps_per_epoch}: loss {total_loss / seen:.4f} "
                      f"({time.time() - t0:.0f} s)", flush=True)
        train_time = time.time() - t0
        acc, test_loss = evaluate(model, test_x, test_y)
        print(
            f"epoch {epoch + 1}/{args.epochs}: train loss {total_loss / seen:.4f} acc {correct / seen:.4f} | "
            f"test loss {test_loss:.4f} acc {acc:.4f} | {train_time:.0f} s train, "
            f"{time.time() - t0:.0f} s total",
            flush=True,
        )

    acc, _ = evaluate(model, test_x, test_y)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    ref.save_safetensors(args.out, ref.state_dict_f32(model))
    print(f"training time {time.time() - start:.0f} s")
    print(f"test accuracy {acc * 100:.2f}% ({round(acc * test_x.shape[0])}/{test_x.shape[0]})")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
