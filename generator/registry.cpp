#include "generator/registry.hpp"

#include "resgen/zoo.hpp"

namespace resgen {
namespace {

std::vector<NetworkInfo>& registered() {
  static std::vector<NetworkInfo> nets;
  return nets;
}

}  // namespace

int register_network(const char* name, const char* summary, NetworkBuilder build, dsl::Shape input,
                     int classes) {
  registered().push_back(NetworkInfo{name, summary, input, classes, build});
  return 0;
}

std::vector<NetworkInfo> known_networks() {
  std::vector<NetworkInfo> all = registered();
  for (const dsl::zoo::Entry& e : dsl::zoo::kEntries)
    all.push_back(NetworkInfo{std::string(e.name), std::string(e.summary), e.default_input, e.default_classes});
  return all;
}

dsl::Network build_network(const std::string& name, std::optional<dsl::Shape> input,
                           std::optional<int> classes) {
  for (const NetworkInfo& n : registered()) {
    if (n.name != name) continue;
    int k = classes.value_or(n.default_classes);
    if (k < 1) throw dsl::SpecError("network " + name + ": --classes must be >= 1");
    return n.build(input.value_or(n.default_input), k);
  }
  auto entry = dsl::zoo::find(name);
  if (!entry) throw dsl::SpecError("unknown network '" + name + "' (resgen list shows the networks)");
  return dsl::zoo::build(name, input.value_or(entry->default_input), classes.value_or(entry->default_classes));
}

}  // namespace resgen
