// The lowering passes on DSL networks: batch-norm folded and residual adds fused where they
// can be, kernels deduplicated, shortcut options, and an arena plan in which no two values live
// at the same time share memory (checked by an independent checker, itself tested).
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
using dsl::Value;

}  // namespace

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
  // A layer that writes its output over its residual (output_in_place): a convolution adding a
  // residual of its output's shape, which no later layer reads; the two share one place.
  std::set<std::pair<int, int>> partners;
  for (int i = 0; i < static_cast<int>(l.layers.size()); ++i) {
    const Layer& y = l.layers[i];
    if (!y.output_in_place) continue;
    if (y.kind != LayerKind::conv || y.residual != Residual::same || y.res_value < 0 || y.res_value == y.input ||
        l.values[y.res_value].shape.elements() != l.values[y.output].shape.elements()) {
      say("layer " + y.name + " is planned in place but does not add a residual of its output's shape");
      continue;
    }
    if (end(y.res_value) != i)
      say("layer " + y.name + " writes over v" + std::to_string(y.res_value) + ", which layer " +
          std::to_string(end(y.res_value)) + " reads later");
    partners.insert({std::min(y.output, y.res_value), std::max(y.output, y.res_value)});
  }
  // Two values of one plan (`members`, offsets by `offset_of`) live together in the same memory,
  // but for an output written exactly over its residual.
  auto check_overlaps = [&](const std::vector<int>& members, auto offset_of, const std::string& arena_name) {
    for (std::size_t i = 0; i < members.size(); ++i)
      for (std::size_t j = i + 1; j < members.size(); ++j) {
        int a = members[i], b = members[j];
        bool live_together = begin(a) <= end(b) && begin(b) <= end(a);
        int64_t ao = offset_of(l.values[a]), bo = offset_of(l.values[b]);
        if (ao == bo && partners.count({std::min(a, b), std::max(a, b)})) continue;
        int64_t ae = l.values[a].shape.elements(), be = l.values[b].shape.elements();
        if (live_together && ao < bo + be && bo < ao + ae)
          say("v" + std::to_string(a) + " [" + std::to_string(ao) + ", +" + std::to_string(ae) + ") layers " +
              std::to_string(begin(a)) + ".." + std::to_string(end(a)) + " and v" + std::to_string(b) + " [" +
              std::to_string(bo) + ", +" + std::to_string(be) + ") layers " + std::to_string(begin(b)) + ".." +
              std::to_string(end(b)) + " share " + arena_name + " memory while both are live");
      }
  };
  check_overlaps(arena, [](const ValueInfo& v) { return v.offset; }, "arena");
  // The late phase: exactly one value crosses into it, and its values have a plan of their own.
  if (l.late_start > 0) {
    std::vector<int> late;
    for (int v = 0; v < nv; ++v) {
      bool crosses = producer[v] < l.late_start && end(v) >= l.late_start;  // the input's producer is -1
      if (crosses && v != l.late_input)
        say("v" + std::to_string(v) + " crosses into the late phase (layer " + std::to_string(l.late_start) +
            ") but is not its input v" + std::to_string(l.late_input));
      if (l.values[v].placement != Placement::arena || end(v) < l.late_start) continue;
      late.push_back(v);
      int64_t o = l.values[v].late_offset;
      if (o < 0 || o + l.values[v].shape.elements() > l.late_arena_floats)
        say("v" + std::to_string(v) + " lies outside the late arena");
    }
    if (l.late_input < 0 || producer[l.late_input] >= l.late_start || end(l.late_input) < l.late_start)
      say("the late phase's input v" + std::to_string(l.late_input) + " does not cross into it");
    check_overlaps(late, [](const ValueInfo& v) { return v.late_offset; }, "late arena");
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
  Lowered r18 = lower(dsl::zoo::build("resnet18", Shape{3, 41, 37}, 5));
  REQUIRE(plan_problems(r18).empty());
  REQUIRE(r18.late_start > 0);
  Lowered late_same = r18;
  for (ValueInfo& v : late_same.values)
    if (v.late_offset >= 0) v.late_offset = 0;
  CHECK_FALSE(plan_problems(late_same).empty());
  Lowered early = r18;
  early.late_start -= 1;  // the boundary before: two values cross it (the block's input and its conv's output)
  CHECK_FALSE(plan_problems(early).empty());
}

// Where the late phase starts: after the last convolution whose activations outweigh its
// weights, at a boundary one value crosses; none where its weights would stay in the cache.
TEST_CASE("lower: the late phase starts where the weights come to outweigh the activations") {
  struct Case {
    const char* net;
    Shape input;
    const char* first;
  };
  for (Case c : {Case{"resnet50", dsl::zoo::kImageNet, "layer3.1.conv1"},
                 Case{"resnet18", dsl::zoo::kImageNet, "layer3.1.conv1"},
                 Case{"cifar_resnet1202", dsl::zoo::kCifar, "layer3.0.conv1"}}) {
    Lowered l = lower(dsl::zoo::build(c.net, c.input, 10));
    INFO(c.net);
    REQUIRE(l.late_start > 0);
    CHECK(l.layers[l.late_start].name == c.first);
    CHECK(l.late_arena_floats < l.arena_floats / 2);
    for (std::size_t i = l.late_start; i < l.layers.size(); ++i) {
      const Layer& y = l.layers[i];
      if (y.kind == LayerKind::conv || y.kind == LayerKind::linear)
        CHECK(y.weights_size >= y.in.elements() + y.out.elements());
    }
    const Layer& before = l.layers[l.late_start - 1];
    CHECK(before.output == l.late_input);
  }
  // Activations outweigh the weights everywhere, or the weights are few (cifar_resnet20's 1 MB).
  for (Shape input : {Shape{3, 512, 512}, dsl::zoo::kCifar}) {
    Lowered none = lower(dsl::zoo::build("cifar_resnet20", input, 10));
    CHECK(none.late_start == 0);
    CHECK(none.late_input == -1);
    check_plan(none);
  }
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

TEST_CASE("lower: outputs written over their residuals (residual in place)") {
  auto everywhere = [](const Layer&) { return true; };
  auto in_place = [](const Lowered& l) {
    int n = 0;
    for (const Layer& y : l.layers) n += y.output_in_place;
    return n;
  };
  for (const char* name : {"resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2"}) {
    INFO(name);
    Lowered l = lower(dsl::zoo::build(name, Shape{3, 64, 48}, 5));
    CHECK(in_place(l) == 0);  // lower() plans without
    Lowered p = l;
    plan_arena(p, everywhere);
    check_plan(p);
    // Every block's last convolution adds the block's input or its projection, read by nothing
    // after it: all in place but the one whose output crosses into the late phase (written into
    // the late arena), and the arena is no larger.
    int blocks = 0;
    for (const Layer& y : p.layers) blocks += y.residual == Residual::same;
    CHECK(in_place(p) == blocks - (p.late_start > 0 && p.layers[p.late_start - 1].residual == Residual::same));
    CHECK(blocks >= 8);
    CHECK(p.arena_floats <= l.arena_floats);
    for (const Layer& y : p.layers)
      if (y.output_in_place) {
        CHECK(p.values[y.output].offset == p.values[y.res_value].offset);
        if (p.late_start > 0 && p.values[y.output].late_offset >= 0)
          CHECK(p.values[y.output].late_offset == p.values[y.res_value].late_offset);
      }
    // A layer the predicate refuses keeps its own place.
    Lowered q = l;
    plan_arena(q, [](const Layer& y) { return y.name.find("layer1") == std::string::npos; });
    check_plan(q);
    CHECK(in_place(q) < in_place(p));
  }
  // CIFAR's option-A shortcuts (subsampled and padded) are never in place; its identities are.
  for (const char* name : {"cifar_resnet20", "preact_resnet20", "preact_resnet164"}) {
    INFO(name);
    Lowered p = lower(dsl::zoo::build(name, dsl::zoo::kCifar, 10));
    plan_arena(p, everywhere);
    check_plan(p);
    for (const Layer& y : p.layers) CHECK((!y.output_in_place || y.residual == Residual::same));
    CHECK(in_place(p) > 0);
  }
  // The checker holds the plan to it: an in-place output at another offset than its residual,
  // and a residual read after the layer that writes over it.
  Lowered p = lower(dsl::zoo::build("resnet18", Shape{3, 64, 48}, 5));
  plan_arena(p, everywhere);
  Lowered moved = p;
  for (Layer& y : moved.layers)
    if (y.output_in_place) {
      moved.values[y.output].offset += 1;
      break;
    }
  CHECK_FALSE(plan_problems(moved).empty());
  Lowered read_later = p;
  for (Layer& y : read_later.layers)
    if (y.output_in_place) {
      read_later.layers.back().input = y.res_value;  // the classifier reads the overwritten residual
      break;
    }
  CHECK_FALSE(plan_problems(read_later).empty());
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
