// The DSL evaluated at run time, and the lowering passes that consume it.
//
// - The shape errors of tests/specs/bad_*.cpp, made with values only known at run time, throw
//   dsl::SpecError with a message that names the network, block, op and shapes.
// - zoo::build rejects unknown names, bad depths and inputs a network cannot take, clearly.
// - Shape inference of a few zoo networks, against numbers from torchvision / PyTorch.
// - lower(): batch-norm folded and residual adds fused where they can be, kernels deduplicated,
//   and an arena plan in which no two values live at the same time share memory.
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

// --- lowering -------------------------------------------------------------------------------

namespace {

std::map<LayerKind, int> kinds(const Lowered& l) {
  std::map<LayerKind, int> k;
  for (const Layer& y : l.layers) ++k[y.kind];
  return k;
}

// Problems with the order of the layers and the arena plan, one line each: a layer that reads
// a value before it is produced, a value written twice, a lifetime shorter than its readers,
// two arena values live at the same time that share memory. Lifetimes are recomputed here,
// independently of plan_arena.
std::vector<std::string> plan_problems(const Lowered& l) {
  std::vector<std::string> problems;
  auto say = [&](std::string s) { problems.push_back(std::move(s)); };
  const int nv = static_cast<int>(l.values.size());
  std::vector<int> producer(nv, -1), last_reader(nv, -1);
  for (int i = 0; i < static_cast<int>(l.layers.size()); ++i) {
    const Layer& y = l.layers[i];
    if (y.output < 0 || y.output >= nv) {
      say("layer " + y.name + " writes no valid value");
      continue;
    }
    if (producer[y.output] >= 0) say("v" + std::to_string(y.output) + " written by two layers");
    producer[y.output] = i;
  }
  for (int i = 0; i < static_cast<int>(l.layers.size()); ++i) {
    const Layer& y = l.layers[i];
    for (int v : {y.input, y.res_value}) {
      if (v < 0) continue;
      if (v >= nv) {
        say("layer " + y.name + " reads a value that does not exist");
        continue;
      }
      bool ready = l.values[v].placement == Placement::input || (producer[v] >= 0 && producer[v] < i);
      if (!ready)
        say("layer " + std::to_string(i) + " (" + y.name + ") reads v" + std::to_string(v) + " before layer " +
            std::to_string(producer[v]) + " produces it");
      last_reader[v] = std::max(last_reader[v], i);
    }
  }
  // A value occupies its memory from its first write or read to its last (a read before the
  // write is already a problem above; counting it keeps the overlap check meaningful).
  auto begin = [&](int v) { return std::min(producer[v], last_reader[v] < 0 ? producer[v] : last_reader[v]); };
  auto end = [&](int v) { return std::max(producer[v], last_reader[v]); };
  std::vector<int> arena;
  for (int v = 0; v < nv; ++v) {
    const ValueInfo& info = l.values[v];
    if (info.placement != Placement::arena) continue;
    arena.push_back(v);
    if (info.offset < 0 || info.offset + info.shape.elements() > l.arena_floats)
      say("v" + std::to_string(v) + " lies outside the arena");
    if (info.first > producer[v] || info.last < end(v))
      say("v" + std::to_string(v) + " planned for layers " + std::to_string(info.first) + ".." +
          std::to_string(info.last) + " but used in layers " + std::to_string(producer[v]) + ".." +
          std::to_string(end(v)));
  }
  for (std::size_t i = 0; i < arena.size(); ++i)
    for (std::size_t j = i + 1; j < arena.size(); ++j) {
      int a = arena[i], b = arena[j];
      bool live_together = begin(a) <= end(b) && begin(b) <= end(a);
      int64_t ao = l.values[a].offset, bo = l.values[b].offset;
      int64_t ae = l.values[a].shape.elements(), be = l.values[b].shape.elements();
      if (live_together && ao < bo + be && bo < ao + ae)
        say("v" + std::to_string(a) + " [" + std::to_string(ao) + ", +" + std::to_string(ae) + ") layers " +
            std::to_string(begin(a)) + ".." + std::to_string(end(a)) + " and v" + std::to_string(b) + " [" +
            std::to_string(bo) + ", +" + std::to_string(be) + ") layers " + std::to_string(begin(b)) + ".." +
            std::to_string(end(b)) + " share memory while both are live");
    }
  int outputs = 0;
  for (const ValueInfo& v : l.values) outputs += v.placement == Placement::output;
  if (outputs != 1) say(std::to_string(outputs) + " output values, not 1");
  return problems;
}

void check_plan(const Lowered& l) {
  std::vector<std::string> problems = plan_problems(l);
  INFO("network ", l.network, ", ", l.values.size(), " values, arena ", l.arena_floats, " floats/image");
  for (std::size_t i = 0; i < problems.size() && i < 8; ++i) FAIL_CHECK(problems[i]);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("lower: cifar_resnet20 folds every batch-norm and fuses every residual add") {
  Lowered l = lower(dsl::zoo::build("cifar_resnet20", dsl::zoo::kCifar, 10));
  auto k = kinds(l);
  CHECK(k[LayerKind::affine] == 0);
  CHECK(k[LayerKind::add] == 0);
  CHECK(k[LayerKind::relu] == 0);
  CHECK(k[LayerKind::pad_channels] == 0);
  CHECK(k[LayerKind::conv] == 19);
  CHECK(k[LayerKind::linear] == 1);
  CHECK(k[LayerKind::global_avg_pool] == 1);
  CHECK(k[LayerKind::to_nhwc] == 1);
  CHECK(l.layers.size() == 22);
  int same = 0, pad = 0;
  for (const Layer& y : l.layers) {
    if (y.kind != LayerKind::conv) continue;
    INFO(y.name);
    CHECK(y.bn_gamma >= 0);
    CHECK(y.bn_var >= 0);
    CHECK(y.weight >= 0);
    CHECK(y.relu);  // every conv of a post-activation CIFAR net ends in a ReLU
    same += y.residual == Residual::same;
    pad += y.residual == Residual::subsample_pad;
    if (y.residual == Residual::subsample_pad) {
      CHECK(y.res_stride == 2);
      CHECK(y.res_pad_before == y.res.c / 2);
    }
  }
  CHECK(same == 7);
  CHECK(pad == 2);
  CHECK(l.classes == 10);
  CHECK(l.params.size() == 97);  // resnet_reference.CifarResNet(20)'s state_dict, less num_batches_tracked
  check_plan(l);
}

TEST_CASE("lower: a one-channel input needs no layout change") {
  Lowered l = lower(dsl::zoo::build("cifar_resnet8", Shape{1, 28, 28}, 7));
  CHECK(kinds(l)[LayerKind::to_nhwc] == 0);
  CHECK(l.classes == 7);
  check_plan(l);
}

TEST_CASE("lower: preact_resnet1001 shares a few kernels between its 333 units") {
  Lowered l = lower(dsl::zoo::build("preact_resnet1001", dsl::zoo::kCifar, 10));
  CHECK(l.layers.size() > 1000);
  // One kernel per distinct layer signature, whatever the depth: to_nhwc, the stem conv, per
  // stage 7 (projection, first unit's conv1 and conv2, conv3 + residual, the pre-activation
  // BN-ReLU, later units' conv1 and conv2; stage 1's two 3x3 convs coincide), the pool and fc.
  CHECK(l.kernels.size() <= 24);
  Lowered shallow = lower(dsl::zoo::build("preact_resnet164", dsl::zoo::kCifar, 10));
  CHECK(l.kernels.size() == shallow.kernels.size());
  std::set<std::string> sigs;
  for (const Kernel& k : l.kernels) sigs.insert(k.signature);
  CHECK(sigs.size() == l.kernels.size());
  for (const Layer& y : l.layers) {
    REQUIRE(y.kernel_id >= 0);
    REQUIRE(y.kernel_id < static_cast<int>(l.kernels.size()));
    // Layers sharing a kernel agree on everything the code depends on.
    const Layer& r = l.layers[l.kernels[y.kernel_id].representative];
    CHECK((y.kind == r.kind && y.in == r.in && y.out == r.out && y.kernel == r.kernel && y.stride == r.stride &&
           y.groups == r.groups && y.relu == r.relu && y.residual == r.residual));
  }
  check_plan(l);
}

TEST_CASE("lower: the plan checker itself finds overlaps and out-of-order reads") {
  Lowered l = lower(dsl::zoo::build("cifar_resnet20", dsl::zoo::kCifar, 10));
  REQUIRE(plan_problems(l).empty());
  Lowered same = l;
  for (ValueInfo& v : same.values) v.offset = 0;  // everything at one place
  CHECK_FALSE(plan_problems(same).empty());
  Lowered swapped = l;
  std::swap(swapped.layers[3], swapped.layers[4]);  // a consumer before its producer
  CHECK_FALSE(plan_problems(swapped).empty());
}

TEST_CASE("lower: the arena never overlaps two live values") {
  for (const char* name : {"cifar_resnet20", "cifar_resnet56", "preact_resnet20", "preact_resnet164"}) {
    Lowered l = lower(dsl::zoo::build(name, dsl::zoo::kCifar, 10));
    check_plan(l);
  }
  for (const char* name : {"resnet18", "resnet50", "resnext50_32x4d"}) {
    Lowered l = lower(dsl::zoo::build(name, Shape{3, 64, 48}, 5));
    check_plan(l);
  }
}

// Regression: an add must not be fused into a conv whose other operand is produced later.
TEST_CASE("lower: a shortcut computed after the main branch is still read after it is computed") {
  // The add's conv operand comes first in node order, its other operand (a max-pool branch with
  // an unfusable ReLU) after it; fusing the add into the conv's epilogue must not make the conv
  // read the other branch before it runs.
  Network net("late_shortcut", Shape{8, 8, 8});
  Value x = net.input();
  net.set_block("layer1.0");
  Value y = net.conv2d(x, "layer1.0.conv1", 8, 3, 1, 1);
  Value s = net.relu(net.max_pool(x, "layer1.0.pool", 3, 1, 1), "layer1.0.pool_relu");
  Value z = net.add(y, s, "layer1.0.add");
  net.set_block("");
  dsl::classifier(net, z, 3);
  Lowered l = lower(net);
  check_plan(l);
}

TEST_CASE("lower: a value read by two layers is not fused into either") {
  // x feeds both the conv and the identity path: the BN after the stem conv is shared, so the
  // add cannot be fused into it, and the stem's BN still folds.
  Network net("shared", Shape{3, 8, 8});
  Value x = net.relu(net.batch_norm(net.conv2d(net.input(), "conv1", 8, 3, 1, 1), "bn1"), "relu");
  Value y = net.batch_norm(net.conv2d(x, "conv2", 8, 3, 1, 1), "bn2");
  Value z = net.relu(net.add(y, x, "add"), "relu2");
  Value w = net.add(z, x, "add2");  // x read a third time, after the fused add
  dsl::classifier(net, w, 4);
  Lowered l = lower(net);
  auto k = kinds(l);
  CHECK(k[LayerKind::affine] == 0);
  CHECK(k[LayerKind::add] == 1);
  check_plan(l);
}

// Shortcut options on one stage whose first block changes the shape: A pads, B projects only
// there, C projects on every block (with BN in post-activation blocks).
TEST_CASE("blocks: shortcut options A, B and C") {
  auto keys_of = [](Shortcut sc) {
    Network net("shortcuts", dsl::Shape{16, 8, 8});
    BlockSpec spec{BlockKind::basic, false, sc};
    dsl::classifier(net, dsl::stage(net, net.input(), "layer1", spec, 2, 32, 2), 10);
    std::set<std::string> keys;
    for (const Param& p : lower(net).params) keys.insert(p.key);
    return keys;
  };
  auto a = keys_of(Shortcut::a), b = keys_of(Shortcut::b), c = keys_of(Shortcut::c);
  CHECK(a.count("layer1.0.downsample.0.weight") == 0);
  CHECK(a.count("layer1.1.downsample.0.weight") == 0);
  CHECK(b.count("layer1.0.downsample.0.weight") == 1);
  CHECK(b.count("layer1.0.downsample.1.running_var") == 1);
  CHECK(b.count("layer1.1.downsample.0.weight") == 0);
  CHECK(c.count("layer1.0.downsample.0.weight") == 1);
  CHECK(c.count("layer1.1.downsample.0.weight") == 1);
  CHECK(c.count("layer1.1.downsample.1.weight") == 1);
  // Option A's shortcut is a zero-pad fused into the block's last conv: no layer of its own.
  Network net("option_a", dsl::Shape{16, 8, 8});
  dsl::classifier(net, dsl::stage(net, net.input(), "layer1", BlockSpec{BlockKind::basic, false, Shortcut::a}, 1, 32, 2),
                  10);
  Lowered l = lower(net);
  for (const Layer& y : l.layers) CHECK(y.kind != LayerKind::pad_channels);
  CHECK(std::count_if(l.layers.begin(), l.layers.end(),
                      [](const Layer& y) { return y.residual == Residual::subsample_pad; }) == 1);
}
