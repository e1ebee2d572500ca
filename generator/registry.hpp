// The networks a resgen command knows: the zoo, and specs registered with RESGEN_NETWORK.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "resgen/register.hpp"

namespace resgen {

struct NetworkInfo {
  std::string name, summary;
  dsl::Shape default_input;
  int default_classes = 0;
  NetworkBuilder build = nullptr;  // null for zoo networks (dsl::zoo::build)
};

// Registered specs first, then the zoo's fixed names.
std::vector<NetworkInfo> known_networks();

// Builds `name` (zoo or registered) for an input and class count (defaults when unset).
// Throws dsl::SpecError for an unknown name or a spec that does not fit the input.
dsl::Network build_network(const std::string& name, std::optional<dsl::Shape> input,
                           std::optional<int> classes);

}  // namespace resgen
