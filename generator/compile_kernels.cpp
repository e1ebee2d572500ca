// compile_kernels: every distinct kernel to an object file, plus the Halide runtime.
//
// Kernels compile in parallel worker processes (fork): LLVM code generation dominates the
// generation time, and separate processes keep Halide's compiler state apart.
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "generator/emit.hpp"
#include "generator/error.hpp"
#include "generator/kernel.hpp"
#include "schedules/schedules.hpp"

namespace resgen {
namespace {

Halide::Target kernel_target(const std::string& name) {
  return Halide::Target(name).with_feature(Halide::Target::NoRuntime).with_feature(Halide::Target::UserContext);
}

// Kernel k as k<k>.o, or, for several targets, as k<k>.a: one variant per target and a
// wrapper that picks the first the running machine supports.
void compile_one(const Lowered& l, const GenerateOptions& o, const std::string& dir, int k) {
  const Layer& layer = l.layers[l.kernels[k].representative];
  auto module_for = [&](const std::string& fn, const Halide::Target& target) {
    KernelPipeline kp = define_kernel(layer, schedule_algorithm(o.schedule, layer, target));
    Halide::Pipeline p(kp.output);
    apply_schedule(o.schedule, layer, kp, p, target);
    return p.compile_to_module(kp.args, fn, target);
  };
  std::string fn = fmt::format("{}_k{}", l.network, k);
  std::vector<std::string> names = split_targets(o.target);
  if (names.size() == 1) {
    module_for(fn, kernel_target(names[0])).compile({{Halide::OutputFileType::object, fmt::format("{}/k{}.o", dir, k)}});
    return;
  }
  std::vector<Halide::Target> targets;
  std::vector<std::string> suffixes;
  for (std::size_t i = 0; i < names.size(); ++i) {
    targets.push_back(kernel_target(names[i]));
    suffixes.push_back(fmt::format("v{}", i));
  }
  Halide::compile_multitarget(fn, {{Halide::OutputFileType::static_library, fmt::format("{}/k{}.a", dir, k)}},
                              targets, suffixes, module_for);
}

// Worker `w` of `jobs` compiles kernels w, w + jobs, ...; returns an error message or "".
std::string worker(const Lowered& l, const GenerateOptions& o, const std::string& dir, int w, int jobs) {
  try {
    for (int k = w; k < static_cast<int>(l.kernels.size()); k += jobs) compile_one(l, o, dir, k);
  } catch (const Halide::Error& e) {
    return fmt::format("Halide failed to compile a kernel of {}: {}", l.network, e.what());
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

void compile_kernels(const Lowered& l, const GenerateOptions& o, const std::string& dir) {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  int jobs = o.jobs > 0 ? o.jobs : std::max(1, cores);
  jobs = std::min<int>(jobs, l.kernels.size());
  if (jobs <= 1) {
    if (std::string e = worker(l, o, dir, 0, 1); !e.empty()) throw Error(e);
  } else {
    std::vector<pid_t> pids;
    for (int w = 0; w < jobs; ++w) {
      pid_t pid = fork();
      if (pid < 0) throw Error("cannot fork a kernel compiler process");
      if (pid == 0) {
        std::string e = worker(l, o, dir, w, jobs);
        if (!e.empty()) std::ofstream(fmt::format("{}/worker{}.error", dir, w)) << e;
        _exit(e.empty() ? 0 : 1);
      }
      pids.push_back(pid);
    }
    std::string failure;
    for (int w = 0; w < jobs; ++w) {
      int status = 0;
      waitpid(pids[w], &status, 0);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
      std::ifstream in(fmt::format("{}/worker{}.error", dir, w));
      std::string msg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (failure.empty()) failure = msg.empty() ? "a kernel compiler process crashed" : msg;
    }
    if (!failure.empty()) throw Error(failure);
  }
  // One runtime, for the baseline (the last target): every machine that runs the library has it.
  Halide::compile_standalone_runtime(dir + "/runtime.o",
                                     Halide::Target(split_targets(o.target).back()).with_feature(Halide::Target::UserContext));
}

}  // namespace resgen
