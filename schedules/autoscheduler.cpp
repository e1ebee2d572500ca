// Halide's autoschedulers, loaded as plugins from the Halide installation.
#include <map>
#include <mutex>

#include "generator/error.hpp"
#include "schedules/schedules.hpp"

#ifndef RESGEN_HALIDE_LIB_DIR
#define RESGEN_HALIDE_LIB_DIR ""
#endif

namespace resgen {
namespace {

void load_plugin_once(const std::string& name) {
  static std::mutex mu;
  static std::vector<std::string> loaded;
  std::lock_guard<std::mutex> lock(mu);
  for (const std::string& l : loaded)
    if (l == name) return;
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string path = std::string(RESGEN_HALIDE_LIB_DIR) + "/libautoschedule_" + lower + ".so";
  try {
    Halide::load_plugin(path);
  } catch (const std::exception& e) {
    throw Error("cannot load the " + name + " autoscheduler from " + path + ": " + e.what());
  }
  loaded.push_back(name);
}

}  // namespace

std::map<std::string, std::string> default_autoscheduler_params(const std::string& name) {
  // The machines resgen targets first have 2 cores; a fixed value keeps generation deterministic.
  std::map<std::string, std::string> extra{{"parallelism", "2"}};
  // Adams2019 and Anderson2021 default to a beam search of width 32, which on a single conv
  // pipeline runs for many minutes and gigabytes; greedy (width 1) takes a fraction of a second.
  if (name == "Adams2019" || name == "Anderson2021") extra["beam_size"] = "1";
  return extra;
}

void schedule_auto(const std::string& name, const KernelPipeline& kernel, Halide::Pipeline& pipeline,
                   const Halide::Target& target) {
  schedule_auto_with(name, default_autoscheduler_params(name), kernel, pipeline, target);
}

void schedule_auto_with(const std::string& name, const std::map<std::string, std::string>& extra,
                        const KernelPipeline& kernel, Halide::Pipeline& pipeline, const Halide::Target& target) {
  load_plugin_once(name);
  // Estimates are the generation-time shapes at one image.
  for (Halide::ImageParam p : kernel.params) {
    const std::vector<int>& e = kernel.estimates.at(p.name());
    for (int d = 0; d < p.dimensions(); ++d) p.dim(d).set_estimate(0, e[d]);
  }
  Halide::Region region;
  for (int extent : kernel.output_estimate) region.emplace_back(0, extent);
  Halide::Func out = kernel.output;
  out.set_estimates(region);
  Halide::AutoschedulerParams params(name, extra);
  pipeline.apply_autoscheduler(target, params);
}

}  // namespace resgen
