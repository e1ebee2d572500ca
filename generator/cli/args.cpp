#include "generator/cli/args.hpp"

#include <charconv>

#include "generator/registry.hpp"

namespace resgen::cli {

Args::Args(const std::vector<std::string>& argv, std::set<std::string> options, std::set<std::string> switches) {
  switches.insert("--help");
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a == "-h") a = "--help";
    if (a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      inline_value = true;
    }
    if (switches.count(a)) {
      if (inline_value) throw Error(a + " takes no value");
      values_[a] = "1";
    } else if (options.count(a)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw Error(a + " needs a value");
        value = argv[++i];
      }
      values_[a] = value;
    } else {
      throw Error("unknown option " + a + " (see --help)");
    }
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::require(const std::string& name) const {
  auto v = get(name);
  if (!v) throw Error("missing " + name + " (see --help)");
  return *v;
}

int parse_int(const std::string& text, const std::string& flag, int min, int max) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
    throw Error(flag + " " + text + ": expected a whole number from " + std::to_string(min) + " to " +
                std::to_string(max));
  return v;
}

dsl::Shape parse_shape(const std::string& text, const std::string& flag) {
  std::vector<std::string> parts{""};
  for (char c : text) {
    if (c == 'x' || c == 'X')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  if (parts.size() != 3) throw Error(flag + " " + text + ": expected CxHxW, e.g. 3x224x224");
  const char* names[3] = {"channels", "height", "width"};
  int v[3];
  for (int i = 0; i < 3; ++i) {
    auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), v[i]);
    if (ec != std::errc() || end != parts[i].data() + parts[i].size() || v[i] < 1 || v[i] > (1 << 16))
      throw Error(flag + " " + text + ": " + names[i] + " must be a whole number from 1 to 65536");
  }
  return {v[0], v[1], v[2]};
}

dsl::Network network_from(const Args& args, const std::string& command) {
  if (args.positional().size() != 1) throw Error("resgen " + command + " takes one network name (see --help)");
  std::optional<dsl::Shape> input;
  std::optional<int> classes;
  if (auto v = args.get("--input")) input = parse_shape(*v, "--input");
  if (auto v = args.get("--classes")) classes = parse_int(*v, "--classes", 1, 1 << 20);
  return build_network(args.positional()[0], input, classes);
}

}  // namespace resgen::cli
