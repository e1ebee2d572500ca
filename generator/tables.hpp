// The lowered program as the generated runtime's tables (rg_runtime.h structs).
//
// The generator builds these once: it prints them into the generated glue source, and uses
// them in memory to check and pack weights with the runtime's own code.
#pragma once

#include <string>
#include <vector>

#include "generator/lowered.hpp"
#include "generator/runtime/rg_runtime.h"

namespace resgen {

struct Tables {
  std::vector<rg_param_desc> params;
  std::vector<rg_layer_desc> layers;
  std::vector<rg_value_desc> values;
  rg_net_desc net{};  // points into the vectors above and `lowered`'s strings

  Tables(const Lowered& lowered);
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;
};

// C++ source text defining rg_params, rg_layers, rg_values, rg_kernels and rg_net for
// network `prefix` (kernels named <prefix>_k<i>).
std::string tables_source(const Lowered& lowered, const Tables& tables, const std::string& prefix);

}  // namespace resgen
