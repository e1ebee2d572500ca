#!/usr/bin/env bash
# The demo: builds resgen (tools/setup.sh), which generates the Fashion-MNIST network of
# examples/fashion_mnist (a user's DSL spec, weights embedded) and links its demo program;
# then classifies the 10,000 test images and compares with PyTorch on the same weights.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
out=build/demo
mkdir -p "$out"
/usr/bin/python3 tools/fashion_mnist_reference.py \
  --weights examples/fashion_mnist/fashion_resnet20.safetensors \
  --images-out "$out/images.npy" --labels-out "$out/labels.npy" --logits-out "$out/torch_logits.npy" >/dev/null
exec build/examples/fashion_mnist/fashion_demo "$out/images.npy" "$out/labels.npy" "$out/torch_logits.npy" 2
