// collect_params: the tensors the weights file must hold, with their PyTorch shapes.
//
// Requires: a checked network. Keys follow the node names (the zoo contract).
#include "generator/lowered.hpp"

namespace resgen {

void collect_params(const dsl::Network& net, Lowered& out) {
  auto add = [&](const dsl::Node& n, const char* suffix, std::vector<int64_t> shape) {
    out.params.push_back(Param{n.name.str() + suffix, std::move(shape)});
  };
  for (const dsl::Node& n : net.nodes()) {
    const dsl::Shape in = n.a >= 0 ? net.nodes()[n.a].shape : dsl::Shape{};
    switch (n.op) {
      case dsl::Op::conv2d:
        add(n, ".weight", {n.shape.c, in.c / n.groups, n.kernel, n.kernel});
        if (n.bias) add(n, ".bias", {n.shape.c});
        break;
      case dsl::Op::batch_norm:
        for (const char* s : {".weight", ".bias", ".running_mean", ".running_var"}) add(n, s, {in.c});
        break;
      case dsl::Op::linear:
        add(n, ".weight", {n.shape.c, in.elements()});
        add(n, ".bias", {n.shape.c});
        break;
      default: break;
    }
  }
}

}  // namespace resgen
