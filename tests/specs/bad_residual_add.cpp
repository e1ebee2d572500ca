// A bottleneck block written by hand that widens 256 -> 512 channels but adds the raw identity:
// the residual add needs a projection (or padding) shortcut.
// expect-fail
// expect: network bad_residual_add
// expect: block layer2.0
// expect: add layer2.0.add
// expect: 512x8x8
// expect: 256x8x8
// expect: projection or padding shortcut
#include "resgen/dsl.hpp"

using namespace resgen::dsl;

constexpr Network bad_residual_add() {
  Network net("bad_residual_add", Shape{256, 8, 8});
  Value x = net.input();
  net.set_block("layer2.0");
  Value y = net.relu(net.batch_norm(net.conv2d(x, "layer2.0.conv1", 128, 1), "layer2.0.bn1"), "layer2.0.relu1");
  y = net.relu(net.batch_norm(net.conv2d(y, "layer2.0.conv2", 128, 3, 1, 1), "layer2.0.bn2"), "layer2.0.relu2");
  y = net.batch_norm(net.conv2d(y, "layer2.0.conv3", 512, 1), "layer2.0.bn3");
  y = net.relu(net.add(y, x, "layer2.0.add"), "layer2.0.relu");  // no downsample branch
  net.set_block("");
  net.linear(net.flatten(net.global_avg_pool(y)), "fc", 512, 10);
  return net;
}

RESGEN_CHECK_SPEC(bad_residual_add());
