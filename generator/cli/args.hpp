// A small, strict command-line parser: --flag VALUE, --flag=VALUE, --switch, positionals.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "generator/error.hpp"
#include "resgen/network.hpp"

namespace resgen::cli {

class Args {
 public:
  // `options` take a value, `switches` do not; anything else starting with -- is an error.
  Args(const std::vector<std::string>& argv, std::set<std::string> options, std::set<std::string> switches);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string require(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return has("--help"); }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// The network a command names: its one positional NET, built with --input and --classes
// (defaults where absent). `command` names the subcommand in errors.
dsl::Network network_from(const Args& args, const std::string& command);

// "CxHxW" -> Shape; throws Error naming the flag.
dsl::Shape parse_shape(const std::string& text, const std::string& flag);
int parse_int(const std::string& text, const std::string& flag, int min, int max);

}  // namespace resgen::cli
