// The tuned schedule database: JSON lines, one measured candidate per line.
//
// A record is keyed by (signature, target, Halide version, resgen version) and holds the
// schedule, its measured time and how it was measured. A record applies to every network that
// has a kernel with its signature. Records that cannot be read, or that were made by another
// Halide or resgen, or for another target, are reported and skipped, never applied.
//
//   {"signature":"conv 64x56x56->64x56x56 k3 s1 p1 g1 relu","target":"x86-64-linux-avx2-fma",
//    "halide":"21.0.0","resgen":"0.3.0","schedule":{"kind":"knobs","channel_vectors":2,"tile":6,
//    "rows":2,"channel_block":64,"order":1,"padded":2},"status":"ok","time_ms":0.41,"min_ms":0.38,
//    "fast_ms":0.40,
//    "measure":{"method":"jit","threads":2,"batch":1,"reps":25,"reference":"unscheduled"},
//    "network":"resnet50","trial":7}
#pragma once

#include <algorithm>
#include <map>
#include <ostream>
#include <optional>
#include <string>
#include <vector>

#include "schedules/schedules.hpp"

namespace resgen {

// One point of the schedule space.
struct TunedSchedule {
  enum class Kind { manual, knobs, autoscheduler } kind = Kind::manual;
  ConvKnobs knobs;            // kind == knobs (a convolution): every field set
  std::string autoscheduler;  // kind == autoscheduler: "Adams2019", ...
  std::string params;         // kind == autoscheduler: the autoscheduler's parameters

  // A short stable spelling, e.g. "manual", "cv2-t6-r2-b64", "auto:Adams2019".
  std::string key() const;
};

struct Measurement {
  std::string method = "jit";  // JIT-compiled kernel, timed in its own process; "paired": timed
                               // in turns with the other finalists of its signature
  int threads = 2, batch = 1, reps = 0;
  std::string reference = "unscheduled";  // what the output was compared with
};

struct ScheduleRecord {
  std::string signature, target, halide, resgen;
  TunedSchedule schedule;
  std::string status;  // "ok" (verified, timed), "wrong" (output differs), "failed", "timeout"
  double time_ms = 0, min_ms = 0;  // median and minimum of the timed runs, in ms
  double fast_ms = 0;              // their first quartile (0: a record from before resgen 0.3)
  Measurement measure;
  std::string error;    // why a candidate failed
  std::string network;  // the network it was tuned for (informative)
  int trial = 0;        // the signature's trial number when measured

  bool ok() const { return status == "ok"; }
  // What candidates are ranked by: the first quartile of the timed runs. On a machine shared
  // with other work the median mostly measures the other work (medians up to 7x the minimum
  // were seen here at a load of 10 on 2 cores). The minimum, used before, is one run: among
  // many candidates it picks whichever had a lucky moment (a finalist 21% below its own median,
  // the others 6 to 10%, won a confirmation round and was 3% slower than the manual schedule
  // timed in turns by benchmarks/kernel_lab). A quartile needs a quarter of the runs fast.
  double rank_ms() const { return fast_ms > 0 ? fast_ms : min_ms; }
  bool paired() const { return measure.method == "paired"; }
};

std::string record_to_json(const ScheduleRecord& r);
// Throws resgen::Error naming what is missing or malformed.
ScheduleRecord record_from_json(const std::string& line);

// The versions records must carry to apply here.
std::string halide_version();
std::string resgen_version();
// The target as a database key: the named target without features that do not change code
// speed or meaning for a kernel (no_runtime, user_context, jit, ...).
std::string target_key(const Halide::Target& t);

// A database file, read with every problem noted.
struct Database {
  std::string path;
  std::vector<ScheduleRecord> records;  // readable records, in file order
  std::vector<std::string> problems;    // "FILE:LINE: why; skipped"
  int other_target = 0, other_version = 0;

  // Reads `path`; a missing file is an empty database. Records for a target other than
  // `target` (when not empty) or other versions are counted and left out of `records`.
  static Database load(const std::string& path, const std::string& target = "");
  // Loads several files (e.g. the checked-in schedules/db/*.jsonl) as one.
  static Database load_all(const std::vector<std::string>& paths, const std::string& target);

  // Records of one signature, in file order.
  std::vector<const ScheduleRecord*> of(const std::string& signature) const;
  // The fastest verified record of `signature` for which `usable` holds. Where the signature
  // has records of a confirmation round (measure.method "paired": the finalists timed side by
  // side in one process), only those count: they are measured under the same conditions.
  template <typename F>
  const ScheduleRecord* best(const std::string& signature, F usable) const {
    std::vector<const ScheduleRecord*> all = of(signature);
    bool paired = std::any_of(all.begin(), all.end(), [](const ScheduleRecord* r) { return r->paired(); });
    const ScheduleRecord* b = nullptr;
    for (const ScheduleRecord* r : all)
      if (r->ok() && r->paired() == paired && (!b || r->rank_ms() < b->rank_ms()) && usable(*r)) b = r;
    return b;
  }
};

// Appends records to a database file, one flushed line each (a crash loses no written record).
class DatabaseWriter {
 public:
  explicit DatabaseWriter(const std::string& path);
  ~DatabaseWriter();
  void append(const ScheduleRecord& r);

 private:
  int fd_ = -1;
  std::string path_;
};

// The --schedule tuned[:DB] spelling's files: DB, or every schedules/db/*.jsonl of the source tree.
std::vector<std::string> tuned_database_files(const std::string& schedule);

// Applies one schedule-space point to a kernel (throws resgen::Error if it does not fit).
// The algorithm `s` computes `layer` with (define_kernel's argument).
ConvAlgorithm schedule_algorithm(const TunedSchedule& s, const Layer& layer, const Halide::Target& target);

void apply_tuned_schedule(const TunedSchedule& s, const Layer& layer, const KernelPipeline& kernel,
                          Halide::Pipeline& pipeline, const Halide::Target& target);

// The autoscheduler parameters schedule_auto uses, as "name=value,..." (recorded, and checked
// before a record applies).
std::string autoscheduler_params(const std::string& name);

// --schedule tuned[:DB] (schedules/tuned.cpp):
// throws resgen::Error when DB cannot be read;
void check_tuned_schedule(const std::string& schedule);
// the best usable verified record for `layer`'s signature on `target`, or null;
const ScheduleRecord* tuned_record(const std::string& schedule, const Layer& layer, const Halide::Target& target);
// applies it, or the manual schedule when there is none;
void apply_tuned(const std::string& schedule, const Layer& layer, const KernelPipeline& kernel,
                 Halide::Pipeline& pipeline, const Halide::Target& target);
// says once, per target, what the databases held that could not be used and which kernels
// have no record (they get the manual schedule); nothing for other schedules;
void report_tuned_coverage(const std::string& schedule, const std::vector<Layer>& layers,
                           const std::vector<Kernel>& kernels, const std::vector<std::string>& targets,
                           std::ostream& out);
// the databases' contents, for cache keys ("" for other schedules).
std::string tuned_fingerprint(const std::string& schedule);

}  // namespace resgen
