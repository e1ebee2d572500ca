#!/usr/bin/python3
"""Writes the fuzzers' seed corpus: tests/fuzz/corpus/{safetensors,npy}/ (small real files).

  make_corpus.py [OUT_DIR]     (default: the corpus folder next to this script)

The safetensors seeds hold the tiny network of fuzz_safetensors.cpp (conv c, batch-norm bn,
linear fc) in F32, F16 and BF16, with metadata, escapes and extra keys; the .npy seeds are
written by NumPy itself (versions 1.0, 2.0 and 3.0). Deterministic: rerunning rewrites the
same bytes.
"""
import json
import os
import struct
import sys

import numpy as np

TINY = {
    "c.weight": [[[[0.5]]], [[[-1.25]]]],
    "bn.weight": [1.5, 0.75],
    "bn.bias": [0.1, -0.2],
    "bn.running_mean": [0.3, -0.4],
    "bn.running_var": [2.0, 0.5],
    "fc.weight": [[1.0, -2.0], [0.25, 4.0]],
    "fc.bias": [0.0, 1.0],
}


def safetensors(tensors, dtype="F32", metadata=None, ensure_ascii=True):
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for key, value in tensors.items():
        a = np.asarray(value, np.float32)
        if dtype == "F32":
            data = a.astype("<f4").tobytes()
        elif dtype == "F16":
            data = a.astype("<f2").tobytes()
        else:  # BF16: the top 16 bits of each float32
            data = (a.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        header[key] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, ensure_ascii=ensure_ascii).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(blobs)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    st, npy = os.path.join(out, "safetensors"), os.path.join(out, "npy")
    os.makedirs(st, exist_ok=True)
    os.makedirs(npy, exist_ok=True)
    seeds = {
        "tiny_f32.safetensors": safetensors(TINY),
        "tiny_f16.safetensors": safetensors(TINY, "F16"),
        "tiny_bf16.safetensors": safetensors(TINY, "BF16"),
        "tiny_metadata_extra.safetensors": safetensors(
            dict(TINY, **{"bn.num_batches_tracked": [], "extra.\u00e9\u6f22\U0001F600": [[1.0, 2.0, 3.0]]}),
            metadata={"format": "pt", "nested": {"a": [1, 2.5e-3, True, None]}}),
        "unicode_raw.safetensors": safetensors({"k\u00e9y": [1.0]}, ensure_ascii=False),
        "empty.safetensors": safetensors({}),
    }
    for name, data in seeds.items():
        with open(os.path.join(st, name), "wb") as f:
            f.write(data)
    rng = np.random.RandomState(0)
    np.save(os.path.join(npy, "v1_2x3.npy"), rng.randn(2, 3).astype(np.float32))
    np.save(os.path.join(npy, "v1_1x3x4x4.npy"), rng.randn(1, 3, 4, 4).astype(np.float32))
    np.save(os.path.join(npy, "v1_empty_0x3.npy"), np.zeros((0, 3), np.float32))
    np.save(os.path.join(npy, "v1_f64.npy"), rng.randn(2).astype(np.float64))
    np.save(os.path.join(npy, "v1_fortran.npy"), np.asfortranarray(rng.randn(2, 2).astype(np.float32)))
    for version in ((2, 0), (3, 0)):
        with open(os.path.join(npy, f"v{version[0]}_5.npy"), "wb") as f:
            np.lib.format.write_array(f, rng.randn(5).astype(np.float32), version=version)


if __name__ == "__main__":
    main()
