#!/usr/bin/python3
"""PyTorch reference outputs of the trained Fashion-MNIST ResNet-20 on the 10,000 test images.

Loads the safetensors weights written by tools/train_fashion_mnist.py into
`CifarResNet(20, num_classes=10, in_channels=1)` (resnet_reference.py), runs the test set in
eval mode and writes, each optional:
  --images-out  float32 (10000, 1, 28, 28) C-order .npy: the preprocessed test images
                (pixels/255, then (x - 0.2860) / 0.3530, Fashion-MNIST's mean / std)
  --labels-out  int64 (10000,) .npy: the true labels
  --logits-out  float32 (10000, 10) .npy: PyTorch's logits
and prints PyTorch's test accuracy.

The safetensors file is parsed here directly (u64 little-endian header length, JSON header,
raw little-endian data); only F32 tensors are accepted.

Example:
    /usr/bin/python3 tools/fashion_mnist_reference.py \\
        --images-out /tmp/fm_images.npy --labels-out /tmp/fm_labels.npy --logits-out /tmp/fm_logits.npy
"""
import argparse
import json
import os
import struct
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see train_fashion_mnist.py; before torch loads

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_fashion_mnist import (  # noqa: E402
    DEFAULT_DATA_DIR,
    DEFAULT_OUT,
    DEFAULT_REFERENCE_DIR,
    import_reference,
    load_split,
)


def load_safetensors(path):
    """{name: float32 tensor} from a safetensors file holding F32 tensors only."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_len,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8 : 8 + header_len])
    data = raw[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        shape = info["shape"]
        arr = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=begin)
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: tensor {name}: {arr.size} values for shape {shape}")
        tensors[name] = torch.from_numpy(arr.reshape(shape).astype(np.float32))
    return tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=DEFAULT_OUT, help="safetensors weights file")
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="folder with the Fashion-MNIST *.gz IDX files")
    ap.add_argument("--reference-dir", default=DEFAULT_REFERENCE_DIR, help="folder holding resnet_reference.py")
    ap.add_argument("--images-out", help="write the preprocessed test images (float32 .npy)")
    ap.add_argument("--labels-out", help="write the test labels (int64 .npy)")
    ap.add_argument("--logits-out", help="write PyTorch's logits (float32 .npy)")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = ap.parse_args()

    t0 = time.time()
    torch.set_num_threads(args.threads)
    ref = import_reference(args.reference_dir)
    model = ref.CifarResNet(20, num_classes=10, in_channels=1)
    state = load_safetensors(args.weights)
    # strict=False only because the file omits num_batches_tracked; anything else must match.
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"weights do not match the model: missing {missing}, unexpected {unexpected}")
    model.eval()

    images, labels = load_split(args.data_dir, "t10k")
    with torch.no_grad():
        logits = torch.cat([model(images[i : i + args.batch_size]) for i in range(0, images.shape[0], args.batch_size)])
    correct = (logits.argmax(1) == labels).sum().item()

    outputs = [
        (args.images_out, images.numpy().astype(np.float32)),
        (args.labels_out, labels.numpy().astype(np.int64)),
        (args.logits_out, logits.numpy().astype(np.float32)),
    ]
    for path, arr in outputs:
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            np.save(path, np.ascontiguousarray(arr))
            print(f"wrote {path} {arr.dtype} {arr.shape}")
    print(f"PyTorch accuracy {correct / labels.numel() * 100:.2f}% ({correct}/{labels.numel()})")
    print(f"{time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
