// An old-style fixed 7x7 average-pool head on a 4x4 feature map: the window leaves no pixels.
// expect-fail
// expect: network bad_no_pixels
// expect: block head
// expect: avg_pool head.pool
// expect: 64x4x4
// expect: leaves no output pixels
// expect: kernel 7, stride 7
#include "resgen/dsl.hpp"

using namespace resgen::dsl;

constexpr Network bad_no_pixels() {
  Network net("bad_no_pixels", Shape{3, 16, 16});
  Value x = net.conv2d(net.input(), "conv1", 64, 3, 2, 1);           // 64x8x8
  x = net.relu(net.batch_norm(x, "bn1"), "relu");
  x = block(net, x, "layer1.0", BlockSpec{}, 64, 2);                  // 64x4x4
  net.set_block("head");
  x = net.avg_pool(x, "head.pool", 7, 7);                             // 4x4 < 7x7
  net.linear(net.flatten(x), "fc", 10);
  return net;
}

RESGEN_CHECK_SPEC(bad_no_pixels());
