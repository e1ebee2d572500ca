// A classifier declared for 512 features (a basic-block ResNet's width) behind bottleneck
// stages whose output is 2048 channels wide.
// expect-fail
// expect: network bad_linear_width
// expect: block head
// expect: linear fc
// expect: expects 512 input features
// expect: 2048x1x1
// expect: = 2048
#include "resgen/dsl.hpp"

using namespace resgen::dsl;

constexpr Network bad_linear_width() {
  Network net("bad_linear_width", Shape{3, 32, 32});
  Value x = net.conv2d(net.input(), "conv1", 64, 3, 1, 1);
  x = net.relu(net.batch_norm(x, "bn1"), "relu");
  BlockSpec bottleneck{BlockKind::bottleneck};
  x = stage(net, x, "layer1", bottleneck, 1, 512, 2);               // 2048x16x16
  net.set_block("head");
  x = net.flatten(net.global_avg_pool(x));
  net.linear(x, "fc", 512, 10);
  return net;
}

RESGEN_CHECK_SPEC(bad_linear_width());
