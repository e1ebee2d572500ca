// A ResNeXt-style grouped 3x3 conv with cardinality 32 on 48 channels: groups must divide
// both the input and the output channels.
// expect-fail
// expect: network bad_groups
// expect: block layer1.0
// expect: conv2d layer1.0.conv2
// expect: groups=32
// expect: input channels 48
// expect: output channels 128
#include "resgen/dsl.hpp"

using namespace resgen::dsl;

constexpr Network bad_groups() {
  Network net("bad_groups", Shape{3, 32, 32});
  Value x = net.relu(net.batch_norm(net.conv2d(net.input(), "conv1", 64, 3, 1, 1), "bn1"), "relu");
  net.set_block("layer1.0");
  Value y = net.relu(net.batch_norm(net.conv2d(x, "layer1.0.conv1", 48, 1), "layer1.0.bn1"), "layer1.0.relu1");
  y = net.conv2d(y, "layer1.0.conv2", 128, 3, 1, 1, /*groups=*/32);
  y = net.batch_norm(y, "layer1.0.bn2");
  net.set_block("");
  net.linear(net.flatten(net.global_avg_pool(y)), "fc", 10);
  return net;
}

RESGEN_CHECK_SPEC(bad_groups());
