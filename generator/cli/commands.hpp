// The resgen subcommands (DESIGN.md section 4). Each returns the process exit status and
// throws resgen::Error or dsl::SpecError for a user's mistake.
#pragma once

#include <string>
#include <vector>

namespace resgen::cli {

int cmd_list(const std::vector<std::string>& args);
int cmd_describe(const std::vector<std::string>& args);
int cmd_generate(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_tune(const std::vector<std::string>& args);

// Entry point shared by the resgen tool and by generators built with resgen_add_network.
int main(int argc, char** argv);

}  // namespace resgen::cli
