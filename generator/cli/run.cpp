// resgen run: the whole ahead-of-time path. Generates the static library for the input's
// (C, H, W) and the class count (cached by network, shape, target, schedule and the exact
// lowering), links a runner against it with the system C++ compiler, and runs it.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "Halide.h"
#include "generator/cli/args.hpp"
#include "generator/cli/cache.hpp"
#include "generator/cli/commands.hpp"
#include "generator/emit.hpp"
#include "generator/registry.hpp"
#include "generator/runtime/rg_runtime.h"
#include "schedules/database.hpp"

namespace resgen::cli {
namespace fs = std::filesystem;

namespace {
// The runtime's reader (the writer is the runner's).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "generator/runtime/npy.inc"
#pragma GCC diagnostic pop

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 1; }

// How to start a program built for `target` here: directly, or under qemu-user for an ARM
// Linux target on another host.
std::string launcher_for(const std::string& target) {
  Halide::Target t(split_targets(target)[0]), host = Halide::get_host_target();
  if (t.os == Halide::Target::Linux && t.arch == host.arch && t.bits == host.bits) return "";
  if (t.os == Halide::Target::Linux && t.arch == Halide::Target::ARM && (t.bits == 64 || t.bits == 32)) {
    const char* qemu = t.bits == 64 ? "qemu-aarch64" : "qemu-arm";
    if (std::system(fmt::format("command -v {} >/dev/null 2>&1", qemu).c_str()) != 0)
      throw Error(fmt::format("running target {} here needs {} (Debian: qemu-user)", target, qemu));
    return fmt::format("{} -L /usr/{} ", qemu, t.bits == 64 ? "aarch64-linux-gnu" : "arm-linux-gnueabihf");
  }
  throw Error("resgen run cannot run target " + target + " on this machine; use resgen generate");
}

}  // namespace

int cmd_run(const std::vector<std::string>& argv) {
  Args args(argv, {"--weights", "--input", "--output", "--classes", "--target", "--schedule", "--threads"},
            {"--allow-extra-weights", "--verbose"});
  if (args.help()) {
    std::cout << R"(usage: resgen run NET --weights FILE --input X.npy --output Y.npy [--classes K] [--target T]
                  [--schedule S] [--allow-extra-weights] [--threads T] [--verbose]
  X: float32 N,C,H,W. Generates (cached in $RESGEN_CACHE, default ~/.cache/resgen) the static
  library for (C,H,W,K), links a runner with the system C++ compiler, runs it on all N images
  and writes the N,K logits to Y.
)";
    return 0;
  }
  if (args.positional().size() != 1) throw Error("resgen run takes one network name (see --help)");
  const std::string name = args.positional()[0];
  std::string weights = args.require("--weights"), in_path = args.require("--input"),
              out_path = args.require("--output");
  if (access(weights.c_str(), R_OK) != 0)
    throw Error(fmt::format("cannot read weights file '{}': {}", weights, std::strerror(errno)));

  // The input decides C, H, W.
  char err[1024] = "";
  int64_t shape[8];
  int ndim = 0;
  float* data = nullptr;
  if (rg_npy_read_f32(in_path.c_str(), shape, &ndim, &data, err, sizeof err) != RG_OK) throw Error(err);
  std::free(data);
  if (ndim != 4)
    throw Error(fmt::format("input '{}' has {} dimensions; resgen run needs N,C,H,W", in_path, ndim));
  if (shape[0] < 1) throw Error(fmt::format("input '{}' holds no images (N = {})", in_path, shape[0]));
  for (int d = 1; d < 4; ++d)
    if (shape[d] < 1 || shape[d] > 65536) throw Error(fmt::format("input '{}': dimension {} is {}", in_path, d, shape[d]));
  dsl::Shape in{int(shape[1]), int(shape[2]), int(shape[3])};
  std::optional<int> classes;
  if (auto v = args.get("--classes")) classes = parse_int(*v, "--classes", 1, 1 << 20);
  int threads = args.get("--threads") ? parse_int(*args.get("--threads"), "--threads", 1, 1024)
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  GenerateOptions o;
  o.target = args.get("--target").value_or(host_target());
  o.schedule = args.get("--schedule").value_or("manual");
  check_target(o.target);
  std::string launcher = launcher_for(o.target);
  Lowered lowered = lower(build_network(name, in, classes));
  fs::path runner = cached_program(lowered, o, args.has("--verbose"), "runner", [&](const fs::path& dir, const fs::path& out) {
    fs::path build = dir / (lowered.network + ".build");
    return fmt::format("{5} -O2 -std=c++17 -DRG_NET={0} '-DRG_HEADER=\"{0}.h\"' -I{1} -I{2} {3} {4} -lpthread -ldl -o {6}",
                       lowered.network, quote(dir.string()), quote(build.string()), quote((build / "runner.cpp").string()),
                       quote((dir / ("lib" + lowered.network + ".a")).string()), compiler_for(o.target), quote(out.string()));
  });
  std::string cmd = fmt::format("{}{} {} {} {} {} {}", launcher, quote(runner.string()), quote(weights), quote(in_path),
                                quote(out_path), args.has("--allow-extra-weights") ? 1 : 0, threads);
  return exit_code(std::system(cmd.c_str()));
}

}  // namespace resgen::cli
