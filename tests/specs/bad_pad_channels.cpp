// An option A (zero-padding) shortcut asked to go from 64 down to 32 channels: padding can only
// add channels.
// expect-fail
// expect: network bad_pad_channels
// expect: block layer3.0
// expect: pad_channels layer3.0.shortcut
// expect: input channels 64
// expect: got 32
#include "resgen/dsl.hpp"

using namespace resgen::dsl;

constexpr Network bad_pad_channels() {
  Network net("bad_pad_channels", Shape{3, 32, 32});
  Value x = net.relu(net.batch_norm(net.conv2d(net.input(), "conv1", 16, 3, 1, 1), "bn1"), "relu");
  BlockSpec a{BlockKind::basic, false, Shortcut::a};
  x = stage(net, x, "layer1", a, 1, 16, 1);
  x = stage(net, x, "layer2", a, 1, 64, 2);   // 64x16x16
  x = stage(net, x, "layer3", a, 1, 32, 2);   // narrows: option A cannot
  classifier(net, x, 10);
  return net;
}

RESGEN_CHECK_SPEC(bad_pad_channels());
