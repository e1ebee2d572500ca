// The tuned schedule database: reading, writing and checking records (schedules/database.hpp).
#include "schedules/database.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "generator/error.hpp"

#ifndef RESGEN_VERSION
#define RESGEN_VERSION "unknown"
#endif

namespace resgen {

using json = nlohmann::json;

std::string TunedSchedule::key() const {
  switch (kind) {
    case Kind::manual: return "manual";
    case Kind::autoscheduler:
      return "auto:" + autoscheduler + (params == autoscheduler_params(autoscheduler) ? "" : "(" + params + ")");
    case Kind::knobs:
      return fmt::format("cv{}-t{}-r{}-b{}-o{}-p{}-s{}-a{}-m{}", knobs.channel_vectors, knobs.tile, knobs.rows,
                         knobs.channel_block, knobs.order, knobs.padded, knobs.span, knobs.algorithm,
                         knobs.accumulators);
  }
  return "?";
}

std::string halide_version() {
  return fmt::format("{}.{}.{}", HALIDE_VERSION_MAJOR, HALIDE_VERSION_MINOR, HALIDE_VERSION_PATCH);
}

std::string resgen_version() { return RESGEN_VERSION; }

std::string target_key(const Halide::Target& t) {
  using T = Halide::Target;
  return t.without_feature(T::NoRuntime)
      .without_feature(T::UserContext)
      .without_feature(T::JIT)
      .without_feature(T::Profile)
      .without_feature(T::NoAsserts)
      .without_feature(T::NoBoundsQuery)
      .to_string();
}

namespace {

json schedule_json(const TunedSchedule& s) {
  switch (s.kind) {
    case TunedSchedule::Kind::manual: return {{"kind", "manual"}};
    case TunedSchedule::Kind::autoscheduler:
      return {{"kind", "auto"}, {"autoscheduler", s.autoscheduler}, {"params", s.params}};
    case TunedSchedule::Kind::knobs:
      return {{"kind", "knobs"},
              {"channel_vectors", s.knobs.channel_vectors},
              {"tile", s.knobs.tile},
              {"rows", s.knobs.rows},
              {"channel_block", s.knobs.channel_block},
              {"order", s.knobs.order},
              {"padded", s.knobs.padded},
              {"span", s.knobs.span},
              {"algorithm", s.knobs.algorithm},
              {"accumulators", s.knobs.accumulators}};
  }
  return {};
}

template <typename T>
T field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) throw Error(fmt::format("no \"{}\"", name));
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw Error(fmt::format("\"{}\" has the wrong type", name));
  }
}

TunedSchedule schedule_from(const json& j) {
  if (!j.is_object()) throw Error("\"schedule\" is not an object");
  TunedSchedule s;
  std::string kind = field<std::string>(j, "kind");
  if (kind == "manual") {
    s.kind = TunedSchedule::Kind::manual;
  } else if (kind == "auto") {
    s.kind = TunedSchedule::Kind::autoscheduler;
    s.autoscheduler = field<std::string>(j, "autoscheduler");
    s.params = field<std::string>(j, "params");
  } else if (kind == "knobs") {
    s.kind = TunedSchedule::Kind::knobs;
    s.knobs.channel_vectors = field<int>(j, "channel_vectors");
    s.knobs.tile = field<int>(j, "tile");
    s.knobs.rows = field<int>(j, "rows");
    s.knobs.channel_block = field<int>(j, "channel_block");
    // Optional, so that a record of resgen before 0.3 still parses and is then skipped for its
    // version, not reported as corrupt; a current record without them applies the heuristic's.
    if (j.contains("order")) s.knobs.order = field<int>(j, "order");
    if (j.contains("padded")) s.knobs.padded = field<int>(j, "padded");
    // Before resgen 0.4 every convolution was direct, one channel tile per task: a record
    // without them was measured so (0, as for order and padded, is the heuristic's).
    s.knobs.span = j.contains("span") ? field<int>(j, "span") : 1;
    s.knobs.algorithm = j.contains("algorithm") ? field<int>(j, "algorithm") : 1;
    // A record without it was measured with a task buffer, the only place there was.
    s.knobs.accumulators = j.contains("accumulators") ? field<int>(j, "accumulators") : 1;
    const ConvKnobs& k = s.knobs;
    if (k.channel_vectors < 1 || k.tile < 1 || k.rows < 1 || k.channel_block < 1 || k.order < 0 || k.padded < 0 ||
        k.span < 0 || k.algorithm < 0 || k.accumulators < 0)
      throw Error("a schedule knob is not a positive number");
  } else {
    throw Error(fmt::format("unknown schedule kind \"{}\"", kind));
  }
  return s;
}

}  // namespace

std::string record_to_json(const ScheduleRecord& r) {
  json j{{"signature", r.signature},
         {"target", r.target},
         {"halide", r.halide},
         {"resgen", r.resgen},
         {"schedule", schedule_json(r.schedule)},
         {"status", r.status},
         {"time_ms", r.time_ms},
         {"min_ms", r.min_ms},
         {"fast_ms", r.fast_ms},
         {"measure",
          {{"method", r.measure.method},
           {"threads", r.measure.threads},
           {"batch", r.measure.batch},
           {"reps", r.measure.reps},
           {"reference", r.measure.reference}}},
         {"network", r.network},
         {"trial", r.trial}};
  if (!r.error.empty()) j["error"] = r.error;
  return j.dump();
}

ScheduleRecord record_from_json(const std::string& line) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    throw Error(fmt::format("not JSON ({})", e.what()));
  }
  if (!j.is_object()) throw Error("not a JSON object");
  ScheduleRecord r;
  r.signature = field<std::string>(j, "signature");
  r.target = field<std::string>(j, "target");
  r.halide = field<std::string>(j, "halide");
  r.resgen = field<std::string>(j, "resgen");
  if (!j.contains("schedule")) throw Error("no \"schedule\"");
  r.schedule = schedule_from(j["schedule"]);
  r.status = field<std::string>(j, "status");
  if (r.status != "ok" && r.status != "wrong" && r.status != "failed" && r.status != "timeout")
    throw Error(fmt::format("unknown status \"{}\"", r.status));
  r.time_ms = field<double>(j, "time_ms");
  r.min_ms = field<double>(j, "min_ms");
  if (j.contains("fast_ms")) r.fast_ms = field<double>(j, "fast_ms");
  if (r.fast_ms < 0) throw Error("\"fast_ms\" is negative");
  if (r.ok() && !(r.time_ms > 0 && r.min_ms > 0)) throw Error("a verified record without a positive time");
  if (!j.contains("measure") || !j["measure"].is_object()) throw Error("no \"measure\" object");
  const json& m = j["measure"];
  r.measure.method = field<std::string>(m, "method");
  r.measure.threads = field<int>(m, "threads");
  r.measure.batch = field<int>(m, "batch");
  r.measure.reps = field<int>(m, "reps");
  r.measure.reference = field<std::string>(m, "reference");
  if (j.contains("network")) r.network = field<std::string>(j, "network");
  if (j.contains("trial")) r.trial = field<int>(j, "trial");
  if (j.contains("error")) r.error = field<std::string>(j, "error");
  return r;
}

Database Database::load(const std::string& path, const std::string& target) {
  Database db;
  db.path = path;
  std::ifstream in(path);
  if (!in) {
    if (access(path.c_str(), F_OK) == 0) throw Error(fmt::format("cannot read the schedule database {}", path));
    return db;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ScheduleRecord r;
    try {
      r = record_from_json(line);
    } catch (const Error& e) {
      db.problems.push_back(fmt::format("{}:{}: corrupt record: {}; skipped", path, n, e.what()));
      continue;
    }
    if (r.halide != halide_version() || r.resgen != resgen_version()) {
      ++db.other_version;
      db.problems.push_back(fmt::format("{}:{}: record made with Halide {} and resgen {} (this is Halide {}, resgen {}); "
                                        "skipped",
                                        path, n, r.halide, r.resgen, halide_version(), resgen_version()));
      continue;
    }
    if (!target.empty() && r.target != target) {
      ++db.other_target;
      continue;
    }
    db.records.push_back(std::move(r));
  }
  if (db.other_target)
    db.problems.push_back(
        fmt::format("{}: {} records for other targets than {} skipped", path, db.other_target, target));
  return db;
}

Database Database::load_all(const std::vector<std::string>& paths, const std::string& target) {
  Database all;
  for (const std::string& p : paths) {
    Database d = load(p, target);
    all.path += (all.path.empty() ? "" : ",") + p;
    all.records.insert(all.records.end(), d.records.begin(), d.records.end());
    all.problems.insert(all.problems.end(), d.problems.begin(), d.problems.end());
    all.other_target += d.other_target;
    all.other_version += d.other_version;
  }
  return all;
}

std::vector<const ScheduleRecord*> Database::of(const std::string& signature) const {
  std::vector<const ScheduleRecord*> out;
  for (const ScheduleRecord& r : records)
    if (r.signature == signature) out.push_back(&r);
  return out;
}

DatabaseWriter::DatabaseWriter(const std::string& path) : path_(path) {
  std::error_code ec;  // a new database may be in a new folder
  if (auto dir = std::filesystem::path(path).parent_path(); !dir.empty()) std::filesystem::create_directories(dir, ec);
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(fmt::format("cannot open the schedule database {} for writing: {}", path, std::strerror(errno)));
  // A file whose last line was cut off (a killed tuner) gets a newline first, so the next
  // record starts a line of its own; the cut line is reported as corrupt when read.
  off_t end = lseek(fd_, 0, SEEK_END);
  char last = '\n';
  if (end > 0 && pread(fd_, &last, 1, end - 1) == 1 && last != '\n') (void)!write(fd_, "\n", 1);
}

DatabaseWriter::~DatabaseWriter() {
  if (fd_ >= 0) close(fd_);
}

void DatabaseWriter::append(const ScheduleRecord& r) {
  std::string line = record_to_json(r) + "\n";
  // One write per record: O_APPEND keeps lines whole even with two tuners on one file.
  if (write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    throw Error(fmt::format("cannot append to the schedule database {}: {}", path_, std::strerror(errno)));
  fsync(fd_);
}

}  // namespace resgen
