// The DSL evaluated at run time.
//
// - The shape errors of tests/specs/bad_*.cpp, made with values only known at run time, throw
//   dsl::SpecError with a message that names the network, block, op and shapes.
// - zoo::build rejects unknown names, bad depths and inputs a network cannot take, clearly.
// - Shape inference of a few zoo networks, against numbers from torchvision / PyTorch.
// (The lowering passes that consume it: test_lowering.cpp.)
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "generator/lowered.hpp"
#include "resgen/dsl.hpp"

namespace {

using namespace resgen;
using dsl::BlockKind;
using dsl::BlockSpec;
using dsl::Network;
using dsl::Shortcut;
using dsl::SpecError;
using dsl::Value;

// Keeps the optimizer from treating the "run-time" values as constants (the DSL must not care,
// but the test should not depend on that).
volatile int g_opaque = 0;
int rt(int v) { return v + g_opaque; }

// The message of the SpecError `f` throws ("" and a failed check when it throws none).
template <class F>
std::string spec_error(F&& f) {
  try {
    f();
  } catch (const SpecError& e) {
    return e.what();
  }
  FAIL_CHECK("no dsl::SpecError was thrown");
  return "";
}

void check_names(const std::string& msg, std::initializer_list<const char*> parts) {
  INFO("message: ", msg);
  for (const char* p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "expected '", p, "' in it");
}

const dsl::Node* find_node(const Network& net, const std::string& name) {
  for (const dsl::Node& n : net.nodes())
    if (n.name.view() == name) return &n;
  return nullptr;
}

Shape shape_of(const Network& net, const std::string& name) {
  const dsl::Node* n = find_node(net, name);
  REQUIRE_MESSAGE(n, "no node named ", name);
  return n->shape;
}

std::string str(Shape s) { return dsl::to_string(s).str(); }

}  // namespace

// --- run-time shape errors ------------------------------------------------------------------

TEST_CASE("run time: residual add without projection names block and both shapes") {
  int cin = rt(256), cout = rt(512);
  std::string msg = spec_error([&] {
    Network net("rt_add", Shape{cin, 8, 8});
    Value x = net.input();
    net.set_block("layer2.0");
    Value y = net.batch_norm(net.conv2d(x, "layer2.0.conv1", cout, 3, 1, 1), "layer2.0.bn1");
    net.add(y, x, "layer2.0.add");
  });
  check_names(msg, {"network rt_add", "block layer2.0", "add layer2.0.add", "512x8x8", "256x8x8"});
}

TEST_CASE("run time: residual add through dsl::block with option A on a shrinking stage") {
  // Option A cannot narrow 64 -> 32 channels: the padding shortcut fails first.
  int planes = rt(32);
  std::string msg = spec_error([&] {
    Network net("rt_pad", Shape{3, 16, 16});
    Value x = net.conv2d(net.input(), "conv1", 64, 3, 1, 1);
    dsl::block(net, x, "layer3.0", BlockSpec{BlockKind::basic, false, Shortcut::a}, planes, 2);
  });
  check_names(msg, {"network rt_pad", "block layer3.0", "pad_channels layer3.0.shortcut", "64", "32"});
}

TEST_CASE("run time: a window that leaves no pixels names the op, its input shape and window") {
  int k = rt(7);
  std::string msg = spec_error([&] {
    Network net("rt_window", Shape{64, 4, 4});
    net.set_block("head");
    net.avg_pool(net.input(), "head.pool", k, k);
  });
  check_names(msg, {"network rt_window", "block head", "avg_pool head.pool", "64x4x4", "no output pixels",
                    "kernel 7"});
  std::string conv_msg = spec_error([&] {
    Network net("rt_conv", Shape{3, 5, 9});
    net.set_block("stem");
    net.conv2d(net.input(), "stem.conv", 8, rt(3), rt(1), 0);  // 3x3 fits
    net.conv2d(net.input(), "stem.conv7", 8, k, 2, 0);         // 7 > 5 rows
  });
  check_names(conv_msg, {"block stem", "conv2d stem.conv7", "3x5x9", "height"});
}

TEST_CASE("run time: linear of the wrong width names the expected and the inferred width") {
  int features = rt(512);
  std::string msg = spec_error([&] {
    Network net("rt_linear", Shape{2048, 7, 7});
    net.set_block("head");
    Value x = net.flatten(net.global_avg_pool(net.input()));
    net.linear(x, "fc", features, 1000);
  });
  check_names(msg, {"network rt_linear", "block head", "linear fc", "512", "2048x1x1"});
}

TEST_CASE("run time: linear on an unflattened input") {
  int c = rt(64);
  std::string msg = spec_error([&] {
    Network net("rt_flat", Shape{c, 8, 8});
    net.linear(net.input(), "fc", 10);
  });
  check_names(msg, {"network rt_flat", "linear fc", "64x8x8", "flatten"});
}

TEST_CASE("run time: groups that do not divide the channels") {
  int groups = rt(32);
  std::string msg = spec_error([&] {
    Network net("rt_groups", Shape{48, 8, 8});
    net.set_block("layer1.0");
    net.conv2d(net.input(), "layer1.0.conv2", 128, 3, 1, 1, groups);
  });
  check_names(msg, {"network rt_groups", "block layer1.0", "conv2d layer1.0.conv2", "groups=32", "48", "128"});
}

TEST_CASE("run time: bad input shape and bad conv arguments") {
  check_names(spec_error([&] { Network net("rt_in", Shape{3, rt(0), 32}); }), {"3x0x32"});
  check_names(spec_error([&] {
                Network net("rt_args", Shape{3, 8, 8});
                net.conv2d(net.input(), "conv1", 16, 3, rt(0));
              }),
              {"network rt_args", "conv2d conv1", "stride"});
  check_names(spec_error([&] {
                Network a("a", Shape{3, 8, 8});
                Network b("b", Shape{3, 8, 8});
                Value v = b.conv2d(b.input(), "c", 4, 1);
                a.relu(v, "r");
              }),
              {"network a", "does not belong"});
}

TEST_CASE("run time: a correct network throws nothing and infers shapes") {
  int c = rt(3), h = rt(32);
  Network net("rt_ok", Shape{c, h, h});
  Value x = net.relu(net.batch_norm(net.conv2d(net.input(), "conv1", 16, 3, 1, 1), "bn1"), "relu");
  x = dsl::stage(net, x, "layer1", BlockSpec{BlockKind::basic, false, Shortcut::a}, 2, 32, 2);
  Value y = dsl::classifier(net, x, rt(10));
  CHECK(net.ok());
  CHECK(str(net.shape(x)) == "32x16x16");
  CHECK(str(net.shape(y)) == "10x1x1");
}

// --- the zoo --------------------------------------------------------------------------------

TEST_CASE("zoo: bad names and depths are clear errors") {
  check_names(spec_error([] { dsl::zoo::build("cifar_resnet21", dsl::zoo::kCifar, 10); }),
              {"cifar_resnet", "21", "6n+2"});
  check_names(spec_error([] { dsl::zoo::build("cifar_resnet0", dsl::zoo::kCifar, 10); }), {"0", "6n+2"});
  check_names(spec_error([] { dsl::zoo::build("preact_resnet100", dsl::zoo::kCifar, 10); }),
              {"preact_resnet", "100", "6n+2"});
  check_names(spec_error([] { dsl::zoo::build("preact_resnet165", dsl::zoo::kCifar, 10); }),
              {"preact_resnet", "165", "9n+2", "bottleneck"});
  check_names(spec_error([] { dsl::zoo::build("resnet19", dsl::zoo::kImageNet, 1000); }),
              {"unknown network", "resnet19"});
  check_names(spec_error([] { dsl::zoo::build("alexnet", dsl::zoo::kImageNet, 1000); }),
              {"unknown network", "alexnet"});
  check_names(spec_error([] { dsl::zoo::build("cifar_resnet", dsl::zoo::kCifar, 10); }),
              {"unknown network", "cifar_resnet"});
  check_names(spec_error([] { dsl::zoo::build("resnet18", Shape{1, 224, 224}, 1000); }),
              {"resnet18", "3 input channels", "1x224x224"});
  check_names(spec_error([] { dsl::zoo::build("cifar_resnet20", dsl::zoo::kCifar, 0); }),
              {"cifar_resnet20", "classes", "0"});
  CHECK_FALSE(dsl::zoo::find("cifar_resnet21x").has_value());
  CHECK(dsl::zoo::find("cifar_resnet21").has_value());  // a depth family name; build() rejects it
  CHECK_NOTHROW(dsl::zoo::build("cifar_resnet8", dsl::zoo::kCifar, 10));
  CHECK_NOTHROW(dsl::zoo::build("preact_resnet164", dsl::zoo::kCifar, 10));
}

TEST_CASE("zoo: every listed network builds at its defaults") {
  for (const dsl::zoo::Entry& e : dsl::zoo::kEntries) {
    if (e.name == "cifar_resnet1202" || e.name == "preact_resnet1001") continue;  // large; below
    INFO(e.name);
    Network net = dsl::zoo::build(e.name, e.default_input, e.default_classes);
    CHECK(net.ok());
    CHECK(net.shape(Value{net.output()}) == Shape{e.default_classes, 1, 1});
  }
}

TEST_CASE("zoo: resnet50 at 3x224x224") {
  Network net = dsl::zoo::build("resnet50", dsl::zoo::kImageNet, 1000);
  CHECK(str(shape_of(net, "conv1")) == "64x112x112");
  CHECK(str(shape_of(net, "maxpool")) == "64x56x56");
  CHECK(str(shape_of(net, "layer1.2.relu")) == "256x56x56");
  CHECK(str(shape_of(net, "layer2.0.conv2")) == "128x28x28");  // v1.5: stride on the 3x3
  CHECK(str(shape_of(net, "layer2.0.conv1")) == "128x56x56");
  CHECK(str(shape_of(net, "layer3.5.relu")) == "1024x14x14");
  CHECK(str(shape_of(net, "layer4.2.relu")) == "2048x7x7");
  CHECK(str(shape_of(net, "fc")) == "1000x1x1");
  CHECK(find_node(net, "layer4.3.relu") == nullptr);
  // torchvision resnet50: 25,557,032 parameters; its state_dict adds 2 * 26,560 running stats.
  Lowered l = lower(net);
  long long elements = 0;
  for (const Param& p : l.params) {
    long long e = 1;
    for (int64_t d : p.shape) e *= d;
    elements += e;
  }
  CHECK(elements == 25557032LL + 2 * 26560);
  CHECK(l.params.size() == 267);  // torchvision state_dict keys without num_batches_tracked
}

TEST_CASE("zoo: cifar_resnet20 at 1x28x28 and 7 classes") {
  Network net = dsl::zoo::build("cifar_resnet20", Shape{1, 28, 28}, 7);
  CHECK(str(net.input_shape()) == "1x28x28");
  CHECK(str(shape_of(net, "conv1")) == "16x28x28");
  CHECK(str(shape_of(net, "layer1.2.relu")) == "16x28x28");
  CHECK(str(shape_of(net, "layer2.0.shortcut")) == "32x14x14");
  CHECK(str(shape_of(net, "layer2.2.relu")) == "32x14x14");
  CHECK(str(shape_of(net, "layer3.0.shortcut")) == "64x7x7");
  CHECK(str(shape_of(net, "layer3.2.relu")) == "64x7x7");
  CHECK(str(shape_of(net, "fc")) == "7x1x1");
  const dsl::Node* pad = find_node(net, "layer3.0.shortcut");
  REQUIRE(pad);
  CHECK(pad->pad_before == 16);
  CHECK(pad->pad_after == 16);
  // Odd sizes: ceil(H / 2) on the option A path matches floor((H + 2 - 3) / 2) + 1 on the conv path.
  Network odd = dsl::zoo::build("cifar_resnet8", Shape{3, 15, 9}, 10);
  CHECK(odd.ok());
  CHECK(str(shape_of(odd, "layer3.0.relu")) == "64x4x3");
}

TEST_CASE("zoo: preact_resnet164 nodes and parameters") {
  Network net = dsl::zoo::build("preact_resnet164", dsl::zoo::kCifar, 10);
  // 18 bottleneck units per stage, 10 nodes each (+ a projection in each stage's first), plus
  // input, conv1, bn, relu, avgpool, flatten, fc.
  CHECK(net.nodes().size() == 54 * 10 + 3 + 7);
  CHECK(str(shape_of(net, "layer1.0.shortcut")) == "64x32x32");
  CHECK(str(shape_of(net, "layer3.17.add")) == "256x8x8");
  CHECK(str(shape_of(net, "relu")) == "256x8x8");
  Lowered l = lower(net);
  long long elements = 0;
  for (const Param& p : l.params) {
    long long e = 1;
    for (int64_t d : p.shape) e *= d;
    elements += e;
  }
  // From resnet_reference.PreActResNet(164): 820 state_dict tensors, 1,727,482 elements
  // (1,703,258 trainable parameters + running means and variances).
  CHECK(l.params.size() == 820);
  CHECK(elements == 1727482);
}
