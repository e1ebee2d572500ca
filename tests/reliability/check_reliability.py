#!/usr/bin/python3
"""Inputs and the PyTorch reference for tests/reliability/stress.cpp (tools/ci_reliability.sh).

  check_reliability.py prepare WORK NET D   writes WORK/weights.safetensors (the reference
                                            network, seed 1) and WORK/inputs.bin (D images)
  check_reliability.py compare WORK NET D   checks WORK/baseline.bin (the library's batch-1
                                            logits, single-threaded) against PyTorch
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "network"))
from check_network import compare, reference_module  # noqa: E402


def main():
    cmd, work, net, d = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ref = reference_module()
    torch.set_num_threads(2)
    model = ref.build(net, seed=1)
    x = torch.randn(d, 3, 32, 32, generator=torch.Generator().manual_seed(11))
    if cmd == "prepare":
        os.makedirs(work, exist_ok=True)
        ref.save_safetensors(os.path.join(work, "weights.safetensors"), ref.state_dict_f32(model))
        x.numpy().astype("<f4").tofile(os.path.join(work, "inputs.bin"))
        return
    with torch.no_grad():
        want = model(x).numpy()
    got = np.fromfile(os.path.join(work, "baseline.bin"), "<f4").reshape(want.shape)
    err, tol, bad = compare(got, want)
    print(f"baseline vs PyTorch: {d} images, max abs error {err:.3g} (tolerance {tol:.3g}), top-1 flips {len(bad)}")
    if err > tol or bad:
        sys.exit("FAIL: the library's single-threaded logits differ from PyTorch")


if __name__ == "__main__":
    main()
