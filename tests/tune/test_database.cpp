// Unit tests of the tuned schedule database (schedules/database.hpp, schedules/tuned.cpp):
// round trips, and every record that must be reported and skipped rather than applied.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "generator/error.hpp"
#include "generator/lowered.hpp"
#include "schedules/database.hpp"

namespace {

namespace fs = std::filesystem;
using namespace resgen;

const std::string kTarget = "x86-64-linux-avx2-fma";

struct TempFile {
  std::string path = (fs::temp_directory_path() / ("resgen_db_test_" + std::to_string(::getpid()) + ".jsonl")).string();
  ~TempFile() { fs::remove(path); }
  void write(const std::string& text) const { std::ofstream(path) << text; }
};

ScheduleRecord record(const std::string& signature, double ms, ConvKnobs k = {2, 4, 2, 8}) {
  ScheduleRecord r;
  r.signature = signature, r.target = kTarget, r.halide = halide_version(), r.resgen = resgen_version();
  r.schedule.kind = TunedSchedule::Kind::knobs;
  r.schedule.knobs = k;
  r.status = "ok", r.time_ms = ms, r.min_ms = ms * 0.9;
  r.measure.reps = 10;
  return r;
}

Layer conv_layer() {
  Layer l;
  l.kind = LayerKind::conv, l.name = "c";
  l.in.c = 16, l.in.h = 8, l.in.w = 8;
  l.out = l.in;
  l.kernel = 3, l.stride = 1, l.padding = 1;
  return l;
}

}  // namespace

TEST_CASE("a record survives a round trip through JSON") {
  ScheduleRecord r = record("conv a", 0.5);
  r.error = "";
  ScheduleRecord back = record_from_json(record_to_json(r));
  CHECK(back.signature == r.signature);
  CHECK(back.target == r.target);
  CHECK(back.schedule.key() == "cv2-t4-r2-b8-o0-p0-s0-a0-m0");
  CHECK(back.time_ms == doctest::Approx(0.5));
  CHECK(back.measure.reps == 10);
  TunedSchedule a;
  a.kind = TunedSchedule::Kind::autoscheduler, a.autoscheduler = "Adams2019", a.params = "beam_size=8,parallelism=2";
  r.schedule = a;
  CHECK(record_from_json(record_to_json(r)).schedule.key() == "auto:Adams2019(beam_size=8,parallelism=2)");
}

TEST_CASE("corrupt, incompatible and other-target records are reported and skipped") {
  TempFile f;
  ScheduleRecord good = record("conv a", 0.5);
  ScheduleRecord old_halide = good, old_resgen = good, other = good, no_time = good;
  old_halide.halide = "14.0.0";
  old_resgen.resgen = "0.0.1";
  other.target = "x86-64-linux-avx512_skylake";
  no_time.time_ms = 0;
  std::string wrong_kind = record_to_json(good);
  wrong_kind.replace(wrong_kind.find("\"knobs\""), 7, "\"loops\"");
  std::string negative = record_to_json(good);
  negative.replace(negative.find("\"tile\":4"), 8, "\"tile\":-4");
  f.write(record_to_json(good) + "\n" +                   // 1 good
          "{\"signature\": \"conv a\", \"target\"\n" +     // 2 not JSON
          "[1, 2, 3]\n" +                                  // 3 not an object
          record_to_json(old_halide) + "\n" +             // 4 another Halide
          record_to_json(old_resgen) + "\n" +             // 5 another resgen
          record_to_json(other) + "\n" +                  // 6 another target
          "\n" +                                          // 7 blank: ignored
          wrong_kind + "\n" +                             // 8 unknown schedule kind
          negative + "\n" +                               // 9 a knob below 1
          record_to_json(no_time) + "\n" +                // 10 ok without a time
          "{\"signature\":\"conv a\"}\n");                 // 11 fields missing
  Database db = Database::load(f.path, kTarget);
  REQUIRE(db.records.size() == 1);
  CHECK(db.other_version == 2);
  CHECK(db.other_target == 1);
  std::string all;
  for (const std::string& p : db.problems) all += p + "\n";
  INFO(all);
  for (int line : {2, 3, 4, 5, 8, 9, 10, 11})
    CHECK(all.find(f.path + ":" + std::to_string(line) + ":") != std::string::npos);
  CHECK(all.find(":1:") == std::string::npos);
  CHECK(all.find(":7:") == std::string::npos);
  CHECK(all.find("Halide 14.0.0") != std::string::npos);
  CHECK(all.find("resgen 0.0.1") != std::string::npos);
  CHECK(all.find("unknown schedule kind \"loops\"") != std::string::npos);
  CHECK(all.find("1 records for other targets") != std::string::npos);
}

TEST_CASE("the best record is the fastest verified one") {
  TempFile f;
  ScheduleRecord slow = record("conv a", 2.0), fast = record("conv a", 1.0, {1, 8, 1, 16}),
                 wrong = record("conv a", 0.1, {4, 2, 1, 16}), other = record("conv b", 0.05);
  wrong.status = "wrong";
  f.write(record_to_json(slow) + "\n" + record_to_json(wrong) + "\n" + record_to_json(fast) + "\n" +
          record_to_json(other) + "\n");
  Database db = Database::load(f.path, kTarget);
  const ScheduleRecord* b = db.best("conv a", [](const ScheduleRecord&) { return true; });
  REQUIRE(b);
  CHECK(b->schedule.key() == "cv1-t8-r1-b16-o0-p0-s0-a0-m0");
  CHECK(db.best("conv c", [](const ScheduleRecord&) { return true; }) == nullptr);
}

TEST_CASE("records rank by their first quartile, older ones by their minimum") {
  TempFile f;
  // Lucky: the fastest single run, but a slow quarter; steady: fast in a quarter of its runs.
  ScheduleRecord lucky = record("conv a", 1.0, {1, 8, 1, 16}), steady = record("conv a", 1.0, {2, 6, 2, 8});
  lucky.min_ms = 0.70, lucky.fast_ms = 0.95;
  steady.min_ms = 0.85, steady.fast_ms = 0.88;
  std::string old = record_to_json(record("conv b", 1.0));  // min 0.9
  std::size_t at = old.find("\"fast_ms\":");  // with the comma after it
  REQUIRE(at != std::string::npos);
  old.erase(at, old.find(',', at) + 1 - at);
  f.write(record_to_json(lucky) + "\n" + record_to_json(steady) + "\n" + old + "\n");
  Database db = Database::load(f.path, kTarget);
  CHECK(db.problems.empty());
  const ScheduleRecord* b = db.best("conv a", [](const ScheduleRecord&) { return true; });
  REQUIRE(b);
  CHECK(b->schedule.key() == "cv2-t6-r2-b8-o0-p0-s0-a0-m0");
  const ScheduleRecord* o = db.best("conv b", [](const ScheduleRecord&) { return true; });
  REQUIRE(o);
  CHECK(o->rank_ms() == doctest::Approx(0.9));
}

TEST_CASE("knobs a layer does not accept are never applied") {
  TempFile f;
  Layer l = conv_layer();
  Halide::Target t(kTarget);
  std::string sig = kernel_signature(l);
  // Fastest first: a channel block that does not divide 16 input channels, then a tile too
  // wide for 16 output channels at 8 floats a vector, then a legal point.
  ScheduleRecord bad_block = record(sig, 0.1, {1, 4, 2, 5}), bad_width = record(sig, 0.2, {4, 4, 2, 8}),
                 legal = record(sig, 0.3, {1, 4, 2, 8});
  f.write(record_to_json(bad_block) + "\n" + record_to_json(bad_width) + "\n" + record_to_json(legal) + "\n");
  const ScheduleRecord* r = tuned_record("tuned:" + f.path, l, t);
  REQUIRE(r);
  CHECK(r->schedule.key() == "cv1-t4-r2-b8-o0-p0-s0-a0-m0");
}

TEST_CASE("the task order and the padded input's place: old records apply as measured, illegal places never") {
  TempFile f;
  Layer l = conv_layer();
  Halide::Target t(kTarget);
  std::string sig = kernel_signature(l);
  // A record written before these knobs existed names neither: it was measured with the
  // heuristic's, and applies as such.
  std::string old = record_to_json(record(sig, 0.4, {1, 4, 2, 8}));
  for (const char* knob : {",\"order\":0", ",\"padded\":0"}) {
    REQUIRE(old.find(knob) != std::string::npos);
    old.erase(old.find(knob), std::string(knob).size());
  }
  f.write(old + "\n");
  const ScheduleRecord* r = tuned_record("tuned:" + f.path, l, t);
  REQUIRE(r);
  CHECK(r->schedule.knobs.order == 0);
  ConvKnobs applied = resolve_conv_knobs(l, t, r->schedule.knobs);
  CHECK(applied.order == 1);
  CHECK(applied.padded == default_conv_knobs(l, t).padded);
  // Faster records with an order or a place out of range, or a place other than 1 for a
  // convolution without padding, are skipped; the legal one with order 2, inlined input applies.
  Layer unpadded = l;
  unpadded.padding = 0, unpadded.out.h = unpadded.out.w = 6;
  ScheduleRecord bad_order = record(sig, 0.1, {1, 4, 2, 8, 3, 1}), bad_place = record(sig, 0.2, {1, 4, 2, 8, 1, 4}),
                 legal = record(sig, 0.3, {1, 4, 2, 8, 2, 3});
  TempFile g;  // another file: generation reads each database once per process
  g.path += ".2";
  g.write(record_to_json(bad_order) + "\n" + record_to_json(bad_place) + "\n" + record_to_json(legal) + "\n");
  r = tuned_record("tuned:" + g.path, l, t);
  REQUIRE(r);
  CHECK(r->schedule.key() == "cv1-t4-r2-b8-o2-p3-s0-a0-m0");
  CHECK_FALSE(conv_knobs_legal(unpadded, t, ConvKnobs{1, 4, 2, 8, 1, 2}));
  CHECK(conv_knobs_legal(unpadded, t, ConvKnobs{1, 4, 2, 8, 2, 1}));
}

TEST_CASE("span, algorithm and accumulators: records without them apply as direct with a task buffer, winograd only where it applies") {
  TempFile f;  // files of their own: generation reads each database once per process
  f.path += ".4";
  Layer l = conv_layer();
  l.in.c = l.out.c = 64, l.in.h = l.in.w = l.out.h = l.out.w = 14;  // the heuristic's winograd
  Halide::Target t(kTarget);
  REQUIRE(default_conv_knobs(l, t).algorithm == 2);
  std::string sig = kernel_signature(l);
  std::string old = record_to_json(record(sig, 0.4, {1, 4, 2, 8, 1, 1}));
  for (const char* knob : {",\"span\":0", "\"accumulators\":0,", "\"algorithm\":0,"}) {  // the fields sorted
    REQUIRE(old.find(knob) != std::string::npos);
    old.erase(old.find(knob), std::string(knob).size());
  }
  f.write(old + "\n");
  const ScheduleRecord* r = tuned_record("tuned:" + f.path, l, t);
  REQUIRE(r);
  CHECK(r->schedule.key() == "cv1-t4-r2-b8-o1-p1-s1-a1-m1");
  CHECK(schedule_algorithm(r->schedule, l, t) == ConvAlgorithm::direct);
  CHECK(schedule_algorithm("tuned:" + f.path, l, t) == ConvAlgorithm::direct);
  CHECK(schedule_algorithm("manual", l, t) == ConvAlgorithm::winograd);
  CHECK(schedule_algorithm("auto:Adams2019", l, t) == ConvAlgorithm::direct);
  // A faster winograd record for a strided convolution is never applied.
  Layer strided = l;
  strided.stride = 2, strided.out.h = strided.out.w = 7;
  ConvKnobs w{2, 6, 2, 8, 1, 1};
  w.span = 1, w.algorithm = 2;
  CHECK(conv_knobs_legal(l, t, w));
  CHECK_FALSE(conv_knobs_legal(strided, t, w));
  TempFile g;
  g.path += ".3";
  g.write(record_to_json(record(kernel_signature(strided), 0.1, w)) + "\n");
  CHECK_FALSE(tuned_record("tuned:" + g.path, strided, t));
}

TEST_CASE("appending after a cut-off line keeps every written record") {
  TempFile f;
  f.write(record_to_json(record("conv a", 1.0)) + "\n{\"signature\":\"conv a\",\"tar");
  {
    DatabaseWriter w(f.path);
    w.append(record("conv a", 0.5, {1, 8, 1, 16}));
  }
  Database db = Database::load(f.path, kTarget);
  CHECK(db.records.size() == 2);
  REQUIRE(db.problems.size() == 1);
  CHECK(db.problems[0].find(":2: corrupt record") != std::string::npos);
}

TEST_CASE("a missing database names its file") {
  CHECK_THROWS_WITH_AS(check_tuned_schedule("tuned:/nonexistent/x.jsonl"),
                       doctest::Contains("/nonexistent/x.jsonl"), resgen::Error);
  CHECK(Database::load("/nonexistent/x.jsonl", kTarget).records.empty());
}

TEST_CASE("a confirmation round's records supersede the search's times") {
  TempFile f;
  ScheduleRecord lucky = record("conv a", 0.5, {1, 8, 1, 16}), manual = record("conv a", 1.0),
                 finalist = record("conv a", 0.9, {2, 6, 2, 8});
  manual.schedule = TunedSchedule{};
  manual.measure.method = finalist.measure.method = "paired";
  f.write(record_to_json(lucky) + "\n" + record_to_json(manual) + "\n" + record_to_json(finalist) + "\n");
  Database db = Database::load(f.path, kTarget);
  const ScheduleRecord* b = db.best("conv a", [](const ScheduleRecord&) { return true; });
  REQUIRE(b);
  CHECK(b->paired());
  CHECK(b->schedule.key() == "cv2-t6-r2-b8-o0-p0-s0-a0-m0");
}

TEST_CASE("a new database's folder is created") {
  fs::path dir = fs::temp_directory_path() / ("resgen_db_dir_" + std::to_string(::getpid()));
  std::string path = (dir / "sub" / "db.jsonl").string();
  {
    DatabaseWriter w(path);
    w.append(record("conv a", 1.0));
  }
  CHECK(Database::load(path, kTarget).records.size() == 1);
  fs::remove_all(dir);
}
