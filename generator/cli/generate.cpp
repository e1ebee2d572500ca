// resgen generate.
#include <iostream>

#include "generator/cli/args.hpp"
#include "generator/cli/commands.hpp"
#include "generator/emit.hpp"
#include "generator/registry.hpp"

namespace resgen::cli {

int cmd_generate(const std::vector<std::string>& argv) {
  Args args(argv, {"--out", "--target", "--input", "--classes", "--schedule", "--weights", "--jobs"},
            {"--embed-weights", "--allow-extra-weights", "--dump-lowered"});
  if (args.help()) {
    std::cout << R"(usage: resgen generate NET --out DIR [--target T] [--input CxHxW] [--classes K]
                       [--schedule manual|auto:Adams2019|auto:Mullapudi2016|auto:Li2018|auto:Anderson2021]
                       [--weights FILE [--embed-weights]] [--allow-extra-weights] [--jobs J] [--dump-lowered]
  Writes DIR/lib<NET>.a, DIR/<NET>.h and DIR/<NET>.hpp (intermediates in DIR/<NET>.build/).
  --target        a named Halide target; default: this machine's features, printed
  --weights       check the file against the network; with --embed-weights, pack it into the library
  --jobs          kernels compiled in parallel (default: one per core)
  --dump-lowered  print the lowered layers (folded, fused) and kernels
)";
    return 0;
  }
  GenerateOptions o;
  o.out_dir = args.require("--out");
  o.target = args.get("--target").value_or(host_target());
  o.schedule = args.get("--schedule").value_or("manual");
  o.weights = args.get("--weights").value_or("");
  o.embed = args.has("--embed-weights");
  o.allow_extra_weights = args.has("--allow-extra-weights");
  if (auto j = args.get("--jobs")) o.jobs = parse_int(*j, "--jobs", 1, 256);
  if (o.embed && o.weights.empty()) throw Error("--embed-weights needs --weights FILE");
  o.log = &std::cout;
  std::cout << "target: " << o.target << std::endl;
  Lowered lowered = lower(network_from(args, "generate"));
  if (args.has("--dump-lowered")) std::cout << dump(lowered);
  generate_library(lowered, o);
  return 0;
}

}  // namespace resgen::cli
