// --schedule tuned[:DB]: the best verified database record per kernel signature, the manual
// schedule where there is none.
#include <glob.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>

#include "generator/error.hpp"
#include "schedules/database.hpp"

#ifndef RESGEN_SOURCE_DIR
#define RESGEN_SOURCE_DIR "."
#endif

namespace resgen {
namespace {

bool is_tuned(const std::string& s) { return s == "tuned" || s.rfind("tuned:", 0) == 0; }

bool known_autoscheduler(const std::string& name) {
  return name == "Adams2019" || name == "Mullapudi2016" || name == "Li2018" || name == "Anderson2021";
}

// "name=value,name=value" -> map; nullopt when malformed.
std::optional<std::map<std::string, std::string>> parse_params(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) return std::nullopt;
    out[item.substr(0, eq)] = item.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

// A record applies only if it still fits the layer: knobs that resolve_conv_knobs accepts,
// an autoscheduler run with the parameters it was measured with.
bool usable(const ScheduleRecord& r, const Layer& layer, const Halide::Target& target) {
  const TunedSchedule& s = r.schedule;
  switch (s.kind) {
    case TunedSchedule::Kind::manual: return true;
    case TunedSchedule::Kind::autoscheduler:
      return known_autoscheduler(s.autoscheduler) && parse_params(s.params).has_value();
    case TunedSchedule::Kind::knobs:
      return layer.kind == LayerKind::conv && conv_knobs_legal(layer, target, s.knobs);
  }
  return false;
}

// The databases a process has read, per (spelling, target): generation reads each once.
const Database& cached_database(const std::string& schedule, const Halide::Target& target) {
  static std::mutex mu;
  static std::map<std::string, Database> cache;
  std::lock_guard<std::mutex> lock(mu);
  std::string key = schedule + "|" + target_key(target);
  auto it = cache.find(key);
  if (it == cache.end())
    it = cache.emplace(key, Database::load_all(tuned_database_files(schedule), target_key(target))).first;
  return it->second;
}

}  // namespace

std::string autoscheduler_params(const std::string& name) {
  std::string out;
  for (const auto& [k, v] : default_autoscheduler_params(name)) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

void check_tuned_schedule(const std::string& schedule) {
  for (const std::string& f : tuned_database_files(schedule))
    if (schedule != "tuned" && access(f.c_str(), R_OK) != 0)
      throw Error(fmt::format("--schedule {}: cannot read the schedule database {}: {}", schedule, f,
                              std::strerror(errno)));
}

std::vector<std::string> tuned_database_files(const std::string& schedule) {
  if (schedule.rfind("tuned:", 0) == 0) {
    std::string path = schedule.substr(6);
    if (path.empty()) throw Error("--schedule tuned: names no database file (tuned:FILE, or tuned for the checked-in ones)");
    return {path};
  }
  std::vector<std::string> files;
  glob_t g{};
  std::string pattern = std::string(RESGEN_SOURCE_DIR) + "/schedules/db/*.jsonl";
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  std::sort(files.begin(), files.end());
  return files;
}

void apply_tuned_schedule(const TunedSchedule& s, const Layer& layer, const KernelPipeline& kernel,
                          Halide::Pipeline& pipeline, const Halide::Target& target) {
  switch (s.kind) {
    case TunedSchedule::Kind::manual: schedule_cpu_manual(layer, kernel, target); break;
    case TunedSchedule::Kind::knobs: schedule_cpu_manual(layer, kernel, target, s.knobs); break;
    case TunedSchedule::Kind::autoscheduler: {
      auto params = parse_params(s.params);
      if (!params || !known_autoscheduler(s.autoscheduler))
        throw Error(fmt::format("schedule {} ({}): not an autoscheduler and parameters resgen knows", s.key(), s.params));
      schedule_auto_with(s.autoscheduler, *params, kernel, pipeline, target);
      break;
    }
  }
}

const ScheduleRecord* tuned_record(const std::string& schedule, const Layer& layer, const Halide::Target& target) {
  const Database& db = cached_database(schedule, target);
  return db.best(kernel_signature(layer), [&](const ScheduleRecord& r) { return usable(r, layer, target); });
}

ConvAlgorithm schedule_algorithm(const TunedSchedule& s, const Layer& layer, const Halide::Target& target) {
  switch (s.kind) {
    case TunedSchedule::Kind::manual: return conv_algorithm(layer, target);
    case TunedSchedule::Kind::knobs: return conv_algorithm(layer, target, s.knobs);
    case TunedSchedule::Kind::autoscheduler: break;
  }
  return ConvAlgorithm::direct;
}

ConvAlgorithm schedule_algorithm(const std::string& schedule, const Layer& layer, const Halide::Target& target) {
  if (schedule.rfind("auto:", 0) == 0) return ConvAlgorithm::direct;
  if (is_tuned(schedule))
    if (const ScheduleRecord* r = tuned_record(schedule, layer, target))
      return schedule_algorithm(r->schedule, layer, target);
  return conv_algorithm(layer, target);
}

void apply_tuned(const std::string& schedule, const Layer& layer, const KernelPipeline& kernel,
                 Halide::Pipeline& pipeline, const Halide::Target& target) {
  if (const ScheduleRecord* r = tuned_record(schedule, layer, target))
    apply_tuned_schedule(r->schedule, layer, kernel, pipeline, target);
  else
    schedule_cpu_manual(layer, kernel, target);
}

void report_tuned_coverage(const std::string& schedule, const std::vector<Layer>& layers,
                           const std::vector<Kernel>& kernels, const std::vector<std::string>& targets,
                           std::ostream& out) {
  if (!is_tuned(schedule)) return;
  for (const std::string& t : targets) {
    Halide::Target target(t);
    const Database& db = cached_database(schedule, target);
    for (const std::string& p : db.problems) out << "warning: " << p << "\n";
    std::vector<std::string> missing;
    int tuned = 0;
    for (const Kernel& k : kernels) {
      if (tuned_record(schedule, layers[k.representative], target))
        ++tuned;
      else
        missing.push_back(k.signature);
    }
    std::string files = db.path.empty() ? "no database files" : db.path;
    out << fmt::format("tuned schedules ({}) for {}: {} of {} kernels", files, target_key(target), tuned,
                       kernels.size());
    if (!missing.empty()) {
      out << "; the manual schedule for the " << missing.size() << " without a record:";
      for (const std::string& m : missing) out << "\n  " << m;
    }
    out << std::endl;
  }
}

std::string tuned_fingerprint(const std::string& schedule) {
  if (!is_tuned(schedule)) return "";
  std::string all;
  for (const std::string& f : tuned_database_files(schedule)) {
    std::ifstream in(f);
    all += f + "\n" + std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  return all;
}

}  // namespace resgen
