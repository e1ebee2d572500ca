// A correct spec that must compile: proves the driver can pass, and that the DSL headers and
// the macro work (a typo in either makes this test fail). Exercises every op and block kind
// that the bad specs get wrong, used correctly.
// expect-ok
#include "resgen/dsl.hpp"

using namespace resgen::dsl;

constexpr Network good_spec() {
  Network net("good_spec", Shape{3, 32, 32});
  Value x = net.relu(net.batch_norm(net.conv2d(net.input(), "conv1", 64, 3, 1, 1), "bn1"), "relu");
  x = net.max_pool(x, "maxpool", 3, 2, 1);                                          // 64x16x16
  BlockSpec a{BlockKind::basic, false, Shortcut::a};
  x = stage(net, x, "layer1", a, 2, 128, 2);                                        // pad 64 -> 128
  BlockSpec resnext{BlockKind::bottleneck, false, Shortcut::b, 32, 4};
  x = stage(net, x, "layer2", resnext, 1, 64, 2);                                   // 256x4x4, groups 32
  BlockSpec preact{BlockKind::basic, true, Shortcut::b};
  x = block(net, x, "layer3.0", preact, 512, 1);                                    // projection 256 -> 512
  net.set_block("layer4.0");
  Value y = net.relu(net.batch_norm(net.conv2d(x, "layer4.0.conv1", 512, 3, 1, 1), "layer4.0.bn1"), "layer4.0.relu1");
  x = net.relu(net.add(y, x, "layer4.0.add"), "layer4.0.relu");                     // same shape
  x = net.avg_pool(x, "head.pool", 4, 4);                                           // exactly 1x1
  net.set_block("head");
  net.linear(net.flatten(x), "fc", 512, 10);
  return net;
}

RESGEN_CHECK_SPEC(good_spec());
RESGEN_CHECK_SPEC(zoo::build("cifar_resnet20", zoo::kCifar, 10));
RESGEN_CHECK_SPEC(zoo::build("preact_resnet20", Shape{1, 28, 28}, 7));

static_assert(good_spec().shape(Value{good_spec().output()}) == Shape{10, 1, 1});
