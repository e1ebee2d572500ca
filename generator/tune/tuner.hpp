// resgen tune: measuring candidate schedules in their own processes, the schedule space the
// search draws from, and the report. The driver is generator/cli/tune.cpp.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "generator/lowered.hpp"
#include "schedules/database.hpp"

namespace resgen::tune {

// ---- measuring (measure.cpp) -------------------------------------------------------------------

struct MeasureConfig {
  std::string target;    // a named target this machine runs (the kernels are JIT-compiled)
  std::string work_dir;  // reference outputs and the lock that serializes timed runs
  int threads = 2;
  double min_timed_s = 0.25;  // timed runs go on until this long (at least 3, at most 200)
  double timeout_s = 120;     // per candidate: compile, verify, time; then it is killed
                              // (references: 5 times that, at least 300 s)
};

// A candidate being measured in a child process: it compiles the kernel with the schedule,
// runs it once on seeded random inputs, compares the output with the signature's reference
// (the unscheduled algorithm, computed first the same way with `reference` set), then takes
// the lock and times it. Compiles of several children overlap; timed runs never do.
struct Job {
  int signature = -1;  // index into the tuner's signature list
  bool reference = false;
  TunedSchedule schedule;
  std::vector<TunedSchedule> finalists;  // a confirmation round: these, timed in turns
  pid_t pid = -1;
  int fd = -1;
  std::chrono::steady_clock::time_point start;
};

struct Outcome {
  std::string status;  // ok, wrong, failed, timeout (reference jobs: ok or failed)
  double median_ms = 0, min_ms = 0, fast_ms = 0, max_error = 0;  // fast_ms: first quartile
  int reps = 0;
  std::string error;
  std::vector<Outcome> finalists;  // a confirmation round's, in the job's order
};

// Starts a job for `layer` (fork); throws resgen::Error when it cannot.
Job start_job(const Layer& layer, int signature, bool reference, const TunedSchedule& schedule,
              const MeasureConfig& config);
// The outcome of a job that has ended, or nullopt while it runs (a job past its timeout is
// killed and reported as "timeout").
std::optional<Outcome> poll_job(Job& job, const MeasureConfig& config);
// Kills a job (Ctrl-C): its candidate is lost, nothing is recorded.
void kill_job(Job& job);
std::string reference_path(const MeasureConfig& config, int signature);
// A confirmation round: the finalists of one signature compiled and verified in one process,
// then timed in turns (rounds of a few runs each) so that they share the machine's conditions.
Job start_confirmation(const Layer& layer, int signature, const std::vector<TunedSchedule>& finalists,
                       const MeasureConfig& config);

// ---- the schedule space (search.cpp) --------------------------------------------------------------

// The convolution knobs' legal values for one layer, and moves through them.
class KnobSpace {
 public:
  KnobSpace(const Layer& layer, const Halide::Target& target);
  bool empty() const { return cv_.empty(); }
  TunedSchedule random(std::mt19937& rng) const;
  // The point with one or two knobs moved to a neighbouring value.
  TunedSchedule mutate(const TunedSchedule& from, std::mt19937& rng) const;
  // Whether resolve_conv_knobs keeps the point as it is.
  bool legal(const TunedSchedule& s) const;

 private:
  const Layer& layer_;
  Halide::Target target_;
  std::vector<int> cv_, blocks_;
  int max_rows_ = 1;
  int places_ = 1;  // padded-input places (3 for a padded convolution)
  bool winograd_ = false;
  bool registers_ = false;  // accumulators may live in registers (no groups)
  int max_tile(int cv) const;
  void fit_algorithm(ConvKnobs& k) const;
};

// The baselines every signature measures first: the manual schedule and Halide's CPU
// autoschedulers (Anderson2021 makes GPU schedules; GPU targets are not tuned yet).
std::vector<TunedSchedule> baselines(const Halide::Target& target, int beam);

// ---- the report (report.cpp) ----------------------------------------------------------------------

struct SignatureReport {
  std::string signature;
  int count = 0;                            // layers of the network using it
  std::map<std::string, double> baselines;  // "manual", "auto:Adams2019", ...: ms (rank_ms)
  std::vector<std::pair<int, double>> curve;  // (trial, best so far in ms), verified records only
  double best_ms = 0;
  std::string best_key;
  int trials = 0, failed = 0;
};

// An HTML page: for each signature best time against trials (SVG), and the network's estimated
// latency (sum over kernels of layers x time) with the manual schedule, each autoscheduler and
// the tuned records. `all` starts with the network itself (its curve: estimated latency against
// records), then the signatures.
std::string html_report(const std::string& network, const std::string& target,
                        const std::vector<SignatureReport>& sigs);
// The same table as text, for the terminal.
std::string text_report(const std::vector<SignatureReport>& sigs);

}  // namespace resgen::tune
