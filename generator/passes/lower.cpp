// lower: the lowering driver, one step after another.
#include <sstream>

#include "generator/lowered.hpp"

namespace resgen {

const char* layer_kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::to_nhwc: return "to_nhwc";
    case LayerKind::conv: return "conv";
    case LayerKind::affine: return "affine";
    case LayerKind::relu: return "relu";
    case LayerKind::add: return "add";
    case LayerKind::pad_channels: return "pad_channels";
    case LayerKind::max_pool: return "max_pool";
    case LayerKind::avg_pool: return "avg_pool";
    case LayerKind::global_avg_pool: return "global_avg_pool";
    case LayerKind::linear: return "linear";
  }
  return "?";
}

Lowered lower(const dsl::Network& net) {
  if (!net.ok()) throw dsl::SpecError(net.error().str());
  Lowered out;
  out.network = net.name().str();
  out.input = net.input_shape();
  collect_params(net, out);
  build_layers(net, out);
  assign_packing(out);
  dedup_kernels(out);
  plan_arena(out);
  return out;
}

std::string dump(const Lowered& l) {
  std::ostringstream os;
  os << "network " << l.network << ": " << l.layers.size() << " layers, " << l.kernels.size()
     << " kernels, arena " << l.arena_floats * 4 << " bytes/image, weights " << l.packed_floats * 4
     << " bytes packed";
  if (l.late_start > 0)
    os << ", late phase from layer " << l.late_start << " (v" << l.late_input << "), arena " << l.late_arena_floats * 4
       << " bytes/image";
  os << "\n";
  for (const Layer& y : l.layers) {
    os << "  v" << y.output << " = " << layer_kind_name(y.kind) << "(v" << y.input;
    if (y.res_value >= 0) os << ", v" << y.res_value;
    os << ")  " << y.name << "  k" << y.kernel_id << ": " << l.kernels[y.kernel_id].signature
       << (y.bn_gamma >= 0 ? "  [bn folded]" : "") << (y.output_in_place ? "  [over its residual]" : "") << "\n";
  }
  return os.str();
}

}  // namespace resgen
