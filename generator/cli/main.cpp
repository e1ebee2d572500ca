#include <cstdio>
#include <iostream>

#include "Halide.h"
#include "generator/cli/commands.hpp"
#include "generator/error.hpp"
#include "resgen/network.hpp"

namespace resgen::cli {
namespace {

constexpr const char* kUsage = R"(usage: resgen COMMAND [ARGS]

  list                         the networks this resgen knows
  describe NET                 layer table: name, op, output shape, params, MACs
  generate NET --out DIR       emit lib<NET>.a, <NET>.h and <NET>.hpp
  run NET --weights W --input X.npy --output Y.npy
                               generate (cached), link a runner, run it on X
  bench NET [--batch N] [--threads T] [--vs ort,torch] [--per-layer]
                               latency beside ONNX Runtime and PyTorch
  tune NET [--budget MIN | --trials N] [--db FILE]
                               search schedules on this machine into a database

Every command takes --help.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "error: no command given\n" << kUsage;
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "list") return cmd_list(args);
    if (cmd == "describe") return cmd_describe(args);
    if (cmd == "generate") return cmd_generate(args);
    if (cmd == "run") return cmd_run(args);
    if (cmd == "bench") return cmd_bench(args);
    if (cmd == "tune") return cmd_tune(args);
    std::cerr << "error: unknown command '" << cmd << "'\n" << kUsage;
    return 2;
  } catch (const dsl::SpecError& e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (const Halide::Error& e) {
    std::cerr << "error: Halide: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 1;
}

}  // namespace resgen::cli
