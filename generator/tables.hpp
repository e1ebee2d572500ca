// The lowered program as the generated runtime's tables (rg_runtime.h structs).
//
// The generator builds these once: it prints them into the generated glue source, and uses
// them in memory to check and pack weights with the runtime's own code.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "generator/lowered.hpp"
#include "generator/runtime/rg_runtime.h"

namespace resgen {

struct Tables {
  std::string strings;  // NUL-separated, each distinct name once
  std::vector<rg_param_desc> params;
  std::vector<rg_layer_desc> layers;
  std::vector<rg_value_desc> values;
  rg_net_desc net{};  // points into the members above and `lowered`'s network name

  Tables(const Lowered& lowered);
  uint32_t intern(const std::string& s);  // offset of s in `strings`, added once
  std::string encode() const;             // the byte stream runtime/tables.inc decodes
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;

 private:
  std::unordered_map<std::string, uint32_t> offsets_;
};

// C++ source text defining the encoded tables, rg_kernels and rg_net for network `prefix`
// (kernels named <prefix>_k<i>).
std::string tables_source(const Lowered& lowered, const Tables& tables, const std::string& prefix);

}  // namespace resgen
