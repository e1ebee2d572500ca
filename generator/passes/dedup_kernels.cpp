// dedup_kernels: one pipeline per distinct layer signature.
//
// Requires: build_layers. The signature holds everything the pipeline's code depends on
// (kind, shapes, window, fusion); names and value ids are left out, so e.g. the 500 identical
// bottlenecks of preact_resnet1001 share three pipelines.
#include <map>

#include "generator/lowered.hpp"

namespace resgen {
namespace {

std::string shape_str(Shape s) { return dsl::to_string(s).str(); }

}  // namespace

std::string kernel_signature(const Layer& l) {
  std::string s = std::string(layer_kind_name(l.kind)) + " " + shape_str(l.in) + "->" + shape_str(l.out);
  s += " k" + std::to_string(l.kernel) + " s" + std::to_string(l.stride) + " p" +
       std::to_string(l.padding) + " g" + std::to_string(l.groups);
  if (l.relu) s += " relu";
  if (l.residual == Residual::same) s += " +res";
  if (l.residual == Residual::subsample_pad)
    s += " +pad(" + shape_str(l.res) + " s" + std::to_string(l.res_stride) + " b" +
         std::to_string(l.res_pad_before) + ")";
  return s;
}

void dedup_kernels(Lowered& out) {
  std::map<std::string, int> seen;
  for (std::size_t i = 0; i < out.layers.size(); ++i) {
    Layer& l = out.layers[i];
    std::string sig = kernel_signature(l);
    auto [it, fresh] = seen.emplace(sig, static_cast<int>(out.kernels.size()));
    if (fresh) out.kernels.push_back(Kernel{sig, static_cast<int>(i)});
    l.kernel_id = it->second;
  }
}

}  // namespace resgen
