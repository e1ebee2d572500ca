// Residual blocks and stages, built from the ops in network.hpp.
//
// Parameter names follow the zoo contract: torchvision's state_dict keys for post-activation
// blocks (conv1, bn1, ..., downsample.0/1), resnet_reference.py's for the pre-activation ones
// (bn1, conv1, ..., shortcut).
#pragma once

#include "resgen/network.hpp"

namespace resgen::dsl {

enum class Shortcut {
  a,  // identity; where the shape changes, subsample + zero-pad channels (no parameters)
  b,  // identity; where the shape changes, 1x1 projection (+ BN unless pre-activation)
  c,  // 1x1 projection on every block
};

enum class BlockKind { basic, bottleneck };

struct BlockSpec {
  BlockKind kind = BlockKind::basic;
  bool preact = false;    // full pre-activation unit (He et al. 2016)
  Shortcut shortcut = Shortcut::b;
  int groups = 1;         // ResNeXt cardinality of the 3x3 conv
  int base_width = 64;    // bottleneck width = planes * base_width / 64 * groups

  constexpr int expansion() const { return kind == BlockKind::bottleneck ? 4 : 1; }
  constexpr int width(int planes) const {
    return kind == BlockKind::bottleneck ? planes * base_width / 64 * groups : planes;
  }
};

namespace detail {

constexpr Value conv_bn(Network& net, Value x, const Name& p, const Name& conv,
                        const Name& bn, int cout, int k, int stride, int groups = 1) {
  x = net.conv2d(x, p + conv, cout, k, stride, k / 2, groups);
  return net.batch_norm(x, p + bn);
}

// The shortcut branch of a post-activation block.
constexpr Value post_shortcut(Network& net, Value x, const Name& p, const BlockSpec& s,
                              int cout, int stride) {
  Shape in = net.shape(x);
  bool changes = stride != 1 || in.c != cout;
  if (s.shortcut == Shortcut::c || (s.shortcut == Shortcut::b && changes))
    return conv_bn(net, x, p, "downsample.0", "downsample.1", cout, 1, stride);
  if (s.shortcut == Shortcut::a && changes) return net.pad_channels(x, p + "shortcut", cout, stride);
  return x;
}

constexpr Value post_block(Network& net, Value x, const Name& p, const BlockSpec& s,
                           int planes, int stride) {
  int cout = planes * s.expansion();
  Value sc = post_shortcut(net, x, p, s, cout, stride);
  Value y;
  if (s.kind == BlockKind::basic) {
    y = net.relu(conv_bn(net, x, p, "conv1", "bn1", planes, 3, stride), p + "relu1");
    y = conv_bn(net, y, p, "conv2", "bn2", planes, 3, 1);
  } else {
    int width = s.width(planes);
    y = net.relu(conv_bn(net, x, p, "conv1", "bn1", width, 1, 1), p + "relu1");
    y = net.relu(conv_bn(net, y, p, "conv2", "bn2", width, 3, stride, s.groups), p + "relu2");
    y = conv_bn(net, y, p, "conv3", "bn3", cout, 1, 1);
  }
  return net.relu(net.add(y, sc, p + "add"), p + "relu");
}

// Full pre-activation unit: pre = ReLU(BN(x)); a projection shortcut reads pre, identity reads x.
constexpr Value preact_block(Network& net, Value x, const Name& p, const BlockSpec& s,
                             int planes, int stride) {
  int cout = planes * s.expansion();
  Shape in = net.shape(x);
  bool changes = stride != 1 || in.c != cout;
  Value pre = net.relu(net.batch_norm(x, p + "bn1"), p + "relu1");
  Value sc = x;
  if (s.shortcut == Shortcut::c || (s.shortcut == Shortcut::b && changes))
    sc = net.conv2d(pre, p + "shortcut", cout, 1, stride);
  else if (s.shortcut == Shortcut::a && changes)
    sc = net.pad_channels(x, p + "shortcut", cout, stride);
  Value y;
  if (s.kind == BlockKind::basic) {
    y = net.conv2d(pre, p + "conv1", planes, 3, stride, 1);
    y = net.relu(net.batch_norm(y, p + "bn2"), p + "relu2");
    y = net.conv2d(y, p + "conv2", cout, 3, 1, 1);
  } else {
    int width = s.width(planes);
    y = net.conv2d(pre, p + "conv1", width, 1);
    y = net.relu(net.batch_norm(y, p + "bn2"), p + "relu2");
    y = net.conv2d(y, p + "conv2", width, 3, stride, 1, s.groups);
    y = net.relu(net.batch_norm(y, p + "bn3"), p + "relu3");
    y = net.conv2d(y, p + "conv3", cout, 1);
  }
  return net.add(y, sc, p + "add");
}

}  // namespace detail

// One residual block named `prefix` (e.g. "layer2.0"); returns its output.
constexpr Value block(Network& net, Value x, const Name& prefix, const BlockSpec& spec,
                      int planes, int stride) {
  Name outer = net.block();
  net.set_block(prefix);
  Name p = prefix + ".";
  Value y = spec.preact ? detail::preact_block(net, x, p, spec, planes, stride)
                        : detail::post_block(net, x, p, spec, planes, stride);
  net.set_block(outer);
  return y;
}

// A stage: `blocks` blocks named `name.0` ... `name.{blocks-1}`, the first with `stride`.
constexpr Value stage(Network& net, Value x, const Name& name, const BlockSpec& spec,
                      int blocks, int planes, int stride) {
  for (int i = 0; i < blocks; ++i)
    x = block(net, x, name + "." + to_string(i), spec, planes, i == 0 ? stride : 1);
  return x;
}

// The classifier head: global average pool, flatten, linear `name`.
constexpr Value classifier(Network& net, Value x, int classes, const Name& name = "fc") {
  net.set_block("");
  return net.linear(net.flatten(net.global_avg_pool(x)), name, classes);
}

}  // namespace resgen::dsl
