// The zoo: every network of DESIGN.md section 2, each a few lines of DSL.
#pragma once

#include <array>
#include <optional>

#include "resgen/blocks.hpp"

namespace resgen::dsl::zoo {

// torchvision's ResNet v1.5 family: stride on the 3x3 of a bottleneck, projection shortcuts.
constexpr Network torchvision_resnet(Name name, Shape in, int classes, BlockKind kind,
                                     std::array<int, 4> layers, int groups = 1,
                                     int base_width = 64) {
  if (in.c != 3)
    throw SpecError(("network " + name + ": torchvision networks take 3 input channels, got --input " + to_string(in)).str());
  Network net(std::move(name), in);
  BlockSpec spec{kind, false, Shortcut::b, groups, base_width};
  Value x = net.conv2d(net.input(), "conv1", 64, 7, 2, 3);
  x = net.relu(net.batch_norm(x, "bn1"), "relu");
  x = net.max_pool(x, "maxpool", 3, 2, 1);
  for (int i = 0; i < 4; ++i)
    x = stage(net, x, "layer" + to_string(i + 1), spec, layers[i], 64 << i, i == 0 ? 1 : 2);
  classifier(net, x, classes);
  return net;
}

// He et al. 2015, CIFAR-10: depth 6n+2, basic blocks, option A shortcuts.
constexpr Network cifar_resnet(int depth, Shape in, int classes) {
  Network net("cifar_resnet" + to_string(depth), in);
  if (depth < 8 || (depth - 2) % 6 != 0)
    throw SpecError(("cifar_resnet depth " + to_string(depth) + " is not 6n+2 with n >= 1 (20, 32, 56, ...)").str());
  int n = (depth - 2) / 6;
  Value x = net.conv2d(net.input(), "conv1", 16, 3, 1, 1);
  x = net.relu(net.batch_norm(x, "bn1"), "relu");
  BlockSpec spec{BlockKind::basic, false, Shortcut::a};
  for (int i = 0; i < 3; ++i)
    x = stage(net, x, "layer" + to_string(i + 1), spec, n, 16 << i, i == 0 ? 1 : 2);
  classifier(net, x, classes);
  return net;
}

// He et al. 2016, full pre-activation: basic units (6n+2) below depth 164, bottleneck (9n+2) from it.
constexpr Network preact_resnet(int depth, Shape in, int classes) {
  Network net("preact_resnet" + to_string(depth), in);
  bool bottleneck = depth >= 164;
  int per = bottleneck ? 9 : 6;
  if (depth < per + 2 || (depth - 2) % per != 0)
    throw SpecError(("preact_resnet depth " + to_string(depth) + " is not " + to_string(per) + "n+2 with n >= 1 (" +
                     (bottleneck ? "bottleneck units from depth 164" : "basic units below depth 164") + ")").str());
  int n = (depth - 2) / per;
  BlockSpec spec{bottleneck ? BlockKind::bottleneck : BlockKind::basic, true, Shortcut::b};
  Value x = net.conv2d(net.input(), "conv1", 16, 3, 1, 1);
  for (int i = 0; i < 3; ++i)
    x = stage(net, x, "layer" + to_string(i + 1), spec, n, 16 << i, i == 0 ? 1 : 2);
  x = net.relu(net.batch_norm(x, "bn"), "relu");
  classifier(net, x, classes);
  return net;
}

struct Entry {
  std::string_view name;
  std::string_view summary;
  Shape default_input;
  int default_classes;
};

inline constexpr Shape kImageNet{3, 224, 224};
inline constexpr Shape kCifar{3, 32, 32};

inline constexpr std::array kEntries{
    Entry{"resnet18", "torchvision ResNet-18 (basic blocks 2-2-2-2)", kImageNet, 1000},
    Entry{"resnet34", "torchvision ResNet-34 (basic blocks 3-4-6-3)", kImageNet, 1000},
    Entry{"resnet50", "torchvision ResNet-50 v1.5 (bottlenecks 3-4-6-3)", kImageNet, 1000},
    Entry{"resnet101", "torchvision ResNet-101 v1.5 (bottlenecks 3-4-23-3)", kImageNet, 1000},
    Entry{"resnet152", "torchvision ResNet-152 v1.5 (bottlenecks 3-8-36-3)", kImageNet, 1000},
    Entry{"resnext50_32x4d", "torchvision ResNeXt-50 32x4d", kImageNet, 1000},
    Entry{"resnext101_32x8d", "torchvision ResNeXt-101 32x8d", kImageNet, 1000},
    Entry{"resnext101_64x4d", "torchvision ResNeXt-101 64x4d", kImageNet, 1000},
    Entry{"wide_resnet50_2", "torchvision Wide ResNet-50-2 (bottleneck width x2)", kImageNet, 1000},
    Entry{"wide_resnet101_2", "torchvision Wide ResNet-101-2 (bottleneck width x2)", kImageNet, 1000},
    Entry{"cifar_resnet20", "He et al. 2015 CIFAR ResNet-20, option A shortcuts", kCifar, 10},
    Entry{"cifar_resnet32", "He et al. 2015 CIFAR ResNet-32", kCifar, 10},
    Entry{"cifar_resnet44", "He et al. 2015 CIFAR ResNet-44", kCifar, 10},
    Entry{"cifar_resnet56", "He et al. 2015 CIFAR ResNet-56", kCifar, 10},
    Entry{"cifar_resnet110", "He et al. 2015 CIFAR ResNet-110", kCifar, 10},
    Entry{"cifar_resnet1202", "He et al. 2015 CIFAR ResNet-1202", kCifar, 10},
    Entry{"preact_resnet20", "He et al. 2016 pre-activation ResNet-20 (basic units)", kCifar, 10},
    Entry{"preact_resnet56", "He et al. 2016 pre-activation ResNet-56", kCifar, 10},
    Entry{"preact_resnet110", "He et al. 2016 pre-activation ResNet-110", kCifar, 10},
    Entry{"preact_resnet164", "He et al. 2016 pre-activation ResNet-164 (bottleneck units)", kCifar, 10},
    Entry{"preact_resnet1001", "He et al. 2016 pre-activation ResNet-1001", kCifar, 10},
};

constexpr bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Parses the depth of a "<family><digits>" name; nullopt when the rest is not all digits.
constexpr std::optional<int> depth_of(std::string_view name, std::string_view family) {
  if (!starts_with(name, family) || name.size() == family.size() || name.size() > family.size() + 6)
    return std::nullopt;
  int d = 0;
  for (char ch : name.substr(family.size())) {
    if (ch < '0' || ch > '9') return std::nullopt;
    d = d * 10 + (ch - '0');
  }
  return d;
}

// The default input and classes of a zoo name; the depth families accept any depth.
constexpr std::optional<Entry> find(std::string_view name) {
  for (const Entry& e : kEntries)
    if (e.name == name) return e;
  if (depth_of(name, "cifar_resnet")) return Entry{name, "He et al. 2015 CIFAR ResNet", kCifar, 10};
  if (depth_of(name, "preact_resnet")) return Entry{name, "He et al. 2016 pre-activation ResNet", kCifar, 10};
  return std::nullopt;
}

// Builds a zoo network for the given input and class count; throws SpecError for an unknown
// name, a bad depth or an input the network cannot take.
constexpr Network build(std::string_view name, Shape in, int classes) {
  using enum BlockKind;
  const Name n(name);
  if (classes < 1) throw SpecError(("network " + n + ": --classes must be >= 1, got " + to_string(classes)).str());
  if (name == "resnet18") return torchvision_resnet(n, in, classes, basic, {2, 2, 2, 2});
  if (name == "resnet34") return torchvision_resnet(n, in, classes, basic, {3, 4, 6, 3});
  if (name == "resnet50") return torchvision_resnet(n, in, classes, bottleneck, {3, 4, 6, 3});
  if (name == "resnet101") return torchvision_resnet(n, in, classes, bottleneck, {3, 4, 23, 3});
  if (name == "resnet152") return torchvision_resnet(n, in, classes, bottleneck, {3, 8, 36, 3});
  if (name == "resnext50_32x4d") return torchvision_resnet(n, in, classes, bottleneck, {3, 4, 6, 3}, 32, 4);
  if (name == "resnext101_32x8d") return torchvision_resnet(n, in, classes, bottleneck, {3, 4, 23, 3}, 32, 8);
  if (name == "resnext101_64x4d") return torchvision_resnet(n, in, classes, bottleneck, {3, 4, 23, 3}, 64, 4);
  if (name == "wide_resnet50_2") return torchvision_resnet(n, in, classes, bottleneck, {3, 4, 6, 3}, 1, 128);
  if (name == "wide_resnet101_2") return torchvision_resnet(n, in, classes, bottleneck, {3, 4, 23, 3}, 1, 128);
  if (auto d = depth_of(name, "cifar_resnet")) return cifar_resnet(*d, in, classes);
  if (auto d = depth_of(name, "preact_resnet")) return preact_resnet(*d, in, classes);
  throw SpecError(("unknown network '" + n + "' (resgen list shows the zoo)").str());
}

}  // namespace resgen::dsl::zoo
