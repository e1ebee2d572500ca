// resgen list, resgen describe.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "generator/cli/args.hpp"
#include "generator/cli/commands.hpp"
#include "generator/emit.hpp"
#include "generator/lowered.hpp"
#include "generator/registry.hpp"
#include "generator/runtime/rg_runtime.h"

namespace resgen::cli {

int cmd_list(const std::vector<std::string>& argv) {
  Args args(argv, {}, {});
  if (args.help()) {
    std::cout << "usage: resgen list\n  Lists the networks: name, default input CxHxW, default classes, summary.\n"
                 "  cifar_resnetD and preact_resnetD also take other valid depths.\n";
    return 0;
  }
  if (!args.positional().empty()) throw Error("resgen list takes no arguments");
  for (const NetworkInfo& n : known_networks())
    std::cout << fmt::format("{:<20} {:>11} {:>5}  {}\n", n.name,
                             dsl::to_string(n.default_input).str(), n.default_classes, n.summary);
  return 0;
}

namespace {

struct Cost {
  long long params = 0, macs = 0;
};

Cost cost_of(const dsl::Network& net, const dsl::Node& n) {
  const dsl::Shape in = n.a >= 0 ? net.nodes()[n.a].shape : dsl::Shape{};
  const dsl::Shape out = n.shape;
  switch (n.op) {
    case dsl::Op::conv2d: {
      long long per = 1LL * (in.c / n.groups) * n.kernel * n.kernel;
      return {per * out.c + (n.bias ? out.c : 0), per * out.elements()};
    }
    case dsl::Op::batch_norm: return {4LL * out.c, 0};
    case dsl::Op::linear: return {1LL * out.c * in.elements() + out.c, 1LL * out.c * in.elements()};
    default: return {};
  }
}

}  // namespace

int cmd_describe(const std::vector<std::string>& argv) {
  Args args(argv, {"--input", "--classes"}, {});
  if (args.help()) {
    std::cout << "usage: resgen describe NET [--input CxHxW] [--classes K]\n"
                 "  Prints each layer: name, op, output shape, parameters, multiply-accumulates; then totals,\n"
                 "  the generated library's layers and kernels, and its planned activation memory.\n";
    return 0;
  }
  dsl::Network net = network_from(args, "describe");
  std::cout << fmt::format("{:<32} {:<16} {:>12} {:>12} {:>14}\n", "name", "op", "output", "params", "MACs");
  Cost total;
  for (const dsl::Node& n : net.nodes()) {
    Cost c = cost_of(net, n);
    total.params += c.params;
    total.macs += c.macs;
    std::cout << fmt::format("{:<32} {:<16} {:>12} {:>12} {:>14}\n", n.name.str(), dsl::op_name(n.op),
                             dsl::to_string(n.shape).str(), c.params, c.macs);
  }
  std::cout << fmt::format("total: {} nodes, {} parameters, {} MACs per image ({:.3f} GMACs)\n",
                           net.nodes().size(), total.params, total.macs, total.macs / 1e9);
  // What the generated library does with it: fused layers, distinct kernels, the arena plan (for
  // this machine with the manual schedule, as `resgen generate` makes it by default).
  GenerateOptions defaults;
  defaults.target = host_target();
  Lowered l = plan_for(lower(net), defaults);
  long long largest = 0;
  for (const ValueInfo& v : l.values) largest = std::max(largest, v.shape.elements());
  std::cout << fmt::format("library: {} layers, {} distinct kernels, {} packed weight floats\n", l.layers.size(),
                           l.kernels.size(), l.packed_floats);
  std::cout << fmt::format(
      "activation memory per image: {} bytes planned, {:.2f}x the largest tensor ({} bytes); a batch needs that "
      "times the images run at once (on a CPU as many as fit {} MiB, at least one, per thread where the batch "
      "is shared out to the threads)\n",
      l.arena_floats * 4, largest ? double(l.arena_floats) / double(largest) : 0.0, largest * 4,
      RG_CHUNK_ARENA_BYTES >> 20);
  if (l.late_start > 0)
    std::cout << fmt::format(
        "late phase from {} on (its layers hold more weights than activations): {} bytes per image planned of "
        "its own, so a CPU runs more images at once there\n",
        l.layers[l.late_start].name, l.late_arena_floats * 4);
  else
    std::cout << "late phase: none\n";
  return 0;
}

}  // namespace resgen::cli
