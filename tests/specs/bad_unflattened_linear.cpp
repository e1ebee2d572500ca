// A linear layer straight on a feature map (the author forgot global pooling and flatten);
// even the declared in_features match the element count, the input must be Cx1x1.
// expect-fail
// expect: network bad_unflattened_linear
// expect: block head
// expect: linear fc
// expect: flattened input (Cx1x1)
// expect: 64x8x8
// expect: insert flatten()
#include "resgen/dsl.hpp"

using namespace resgen::dsl;

constexpr Network bad_unflattened_linear() {
  Network net("bad_unflattened_linear", Shape{3, 32, 32});
  Value x = net.relu(net.batch_norm(net.conv2d(net.input(), "conv1", 16, 3, 1, 1), "bn1"), "relu");
  BlockSpec a{BlockKind::basic, false, Shortcut::a};
  x = stage(net, x, "layer1", a, 1, 16, 1);
  x = stage(net, x, "layer2", a, 1, 32, 2);
  x = stage(net, x, "layer3", a, 1, 64, 2);                           // 64x8x8
  net.set_block("head");
  net.linear(x, "fc", 64 * 8 * 8, 10);
  return net;
}

RESGEN_CHECK_SPEC(bad_unflattened_linear());
