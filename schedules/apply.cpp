// Picks the schedule a kernel gets from the --schedule spelling.
#include <array>

#include "generator/error.hpp"
#include "schedules/database.hpp"
#include "schedules/schedules.hpp"

namespace resgen {

namespace {
constexpr std::array<const char*, 4> kAutoschedulers{"Adams2019", "Mullapudi2016", "Li2018", "Anderson2021"};
}

void validate_schedule(const std::string& s, const Halide::Target& target) {
  if (s == "manual") return;
  if (target.has_gpu_feature() && s.rfind("auto:", 0) == 0 && s != "auto:Anderson2021")
    throw Error("--schedule " + s + ": makes CPU schedules only; GPU target " + target.to_string() +
                " takes manual or auto:Anderson2021");
  if (s.rfind("auto:", 0) == 0) {
    std::string name = s.substr(5);
    for (const char* a : kAutoschedulers)
      if (name == a) return;
    throw Error("--schedule " + s + ": unknown autoscheduler '" + name +
                "' (auto:Adams2019, auto:Mullapudi2016, auto:Li2018, auto:Anderson2021)");
  }
  if (s == "tuned" || s.rfind("tuned:", 0) == 0) {
    check_tuned_schedule(s);
    return;
  }
  throw Error("--schedule " + s + ": expected manual, auto:NAME or tuned[:DB]");
}

void apply_schedule(const std::string& s, const Layer& layer, const KernelPipeline& kernel,
                    Halide::Pipeline& pipeline, const Halide::Target& target) {
  if (s.rfind("auto:", 0) == 0)
    schedule_auto(s.substr(5), kernel, pipeline, target);
  else if (s == "tuned" || s.rfind("tuned:", 0) == 0)
    apply_tuned(s, layer, kernel, pipeline, target);
  else if (target.has_gpu_feature())
    schedule_gpu_manual(layer, kernel, target);
  else
    schedule_cpu_manual(layer, kernel, target);
}

bool schedule_allows_residual_in_place(const std::string& s, const Layer& layer, const Halide::Target& target) {
  if (target.has_gpu_feature() || s.rfind("auto:", 0) == 0) return false;
  ConvKnobs knobs;
  if (s == "tuned" || s.rfind("tuned:", 0) == 0)
    if (const ScheduleRecord* r = tuned_record(s, layer, target)) {
      if (r->schedule.kind == TunedSchedule::Kind::autoscheduler) return false;
      if (r->schedule.kind == TunedSchedule::Kind::knobs) knobs = r->schedule.knobs;
    }
  try {
    return conv_writes_each_output_once(layer, target, knobs);
  } catch (const Error&) {
    return false;  // knobs the layer does not accept are not applied either
  }
}

}  // namespace resgen
