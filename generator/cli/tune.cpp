// resgen tune: searches schedules for each distinct kernel signature of a network, measuring
// every candidate in its own process against the unscheduled algorithm's output, and appends
// every measurement to a JSON-lines database (schedules/database.hpp) that tuning resumes from
// and `generate --schedule tuned:DB` applies.
//
// Trials go where they pay (as Ansor's task scheduler does): first each signature's manual
// schedule (its time x its layer count is its share of the network), then, always to the
// signature whose share of the network's time divided by its trials is largest, Halide's
// autoschedulers and then a search of the knob space around the best point so far. A signature
// stops when `patience` trials in a row have not improved its best by 1%.
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "generator/cli/args.hpp"
#include "generator/cli/commands.hpp"
#include "generator/emit.hpp"
#include "generator/tune/tuner.hpp"

namespace resgen::cli {
namespace {

namespace fs = std::filesystem;
using namespace resgen::tune;
using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_interrupted = 0;
void on_interrupt(int) { g_interrupted = 1; }

struct Signature {
  std::string text;
  int layer = -1;  // representative
  int count = 0;
  bool conv = false;
  std::set<std::string> tried;  // schedule keys measured (database or this run) or in flight
  double manual_ms = 0, best_ms = 0;
  std::string best_key;
  TunedSchedule best;
  bool has_best = false;
  int trials = 0, failed = 0, since_improvement = 0;
  bool reference = false, reference_failed = false, reference_running = false;
  std::map<std::string, double> baselines;
  std::vector<std::pair<int, double>> curve;
  // Verified candidates of the search (key -> fastest run, schedule), and the confirmation
  // round that re-times the finalists side by side once the search has converged.
  std::map<std::string, std::pair<double, TunedSchedule>> verified;
  bool confirmed = false, confirm_running = false;
};

// What to run next.
struct Next {
  enum class Kind { reference, candidate, confirmation } kind;
  int signature;
  TunedSchedule schedule;
  std::vector<TunedSchedule> finalists;
};

struct Tuner {
  const Lowered& lowered;
  Halide::Target target;
  std::string target_key;
  MeasureConfig config;
  std::vector<TunedSchedule> base;
  int patience = 12;
  std::vector<Signature> sigs;
  std::mt19937 rng{12345};
  // (records noted, estimated network ms) once every signature has a time: the database's
  // records in file order, then this run's.
  std::vector<std::pair<int, double>> network_curve;
  int noted = 0;

  void note(Signature& s, const ScheduleRecord& r) {
    note_one(s, r);
    ++noted;
    if (std::all_of(sigs.begin(), sigs.end(), [](const Signature& x) { return x.has_best; }) &&
        (network_curve.empty() || estimate_ms() != network_curve.back().second))
      network_curve.emplace_back(noted, estimate_ms());
  }

  void note_one(Signature& s, const ScheduleRecord& r) {
    s.tried.insert(r.schedule.key());
    ++s.trials;
    if (r.paired()) {  // a confirmation round supersedes the search's times
      if (!s.confirmed) s.has_best = false;
      s.confirmed = true;
      if (!r.ok()) return;
      std::string key = r.schedule.key();
      double ms = r.rank_ms();
      if (r.schedule.kind != TunedSchedule::Kind::knobs) s.baselines[key] = ms;
      if (key == "manual") s.manual_ms = ms;
      if (!s.has_best || ms < s.best_ms) {
        s.best_ms = ms, s.best_key = key, s.best = r.schedule, s.has_best = true;
        s.curve.emplace_back(s.trials, s.best_ms);
      }
      return;
    }
    if (r.ok() && (!s.verified.count(r.schedule.key()) || r.rank_ms() < s.verified[r.schedule.key()].first))
      s.verified[r.schedule.key()] = {r.rank_ms(), r.schedule};
    if (s.confirmed) return;
    if (!r.ok()) {
      ++s.failed;
      ++s.since_improvement;
      return;
    }
    std::string key = r.schedule.key();
    double ms = r.rank_ms();
    if (r.schedule.kind != TunedSchedule::Kind::knobs) s.baselines[key] = ms;
    if (key == "manual") s.manual_ms = ms;
    if (!s.has_best || ms < s.best_ms * 0.99)
      s.since_improvement = 0;
    else
      ++s.since_improvement;
    if (!s.has_best || ms < s.best_ms) {
      s.best_ms = ms, s.best_key = key, s.best = r.schedule, s.has_best = true;
      s.curve.emplace_back(s.trials, s.best_ms);
    }
  }

  bool baselines_done(const Signature& s) const {
    return std::all_of(base.begin(), base.end(), [&](const TunedSchedule& b) { return s.tried.count(b.key()); });
  }

  bool search_done(const Signature& s) const {
    // A confirmation round ends the search for good: a candidate still in flight when it
    // started may yet report a gain, which must not reopen the search.
    if (s.reference_failed || s.confirmed || s.confirm_running) return true;
    if (!baselines_done(s)) return false;
    return !s.conv || !s.has_best || s.since_improvement >= patience;
  }

  bool converged(const Signature& s) const {
    return s.reference_failed || (search_done(s) && (s.confirmed || finalists(s).size() < 2));
  }

  // Every verified baseline, and the three fastest points of the search.
  std::vector<TunedSchedule> finalists(const Signature& s) const {
    std::vector<TunedSchedule> out;
    std::vector<std::pair<double, TunedSchedule>> knobs;
    for (const auto& [key, v] : s.verified) {
      if (v.second.kind == TunedSchedule::Kind::knobs)
        knobs.push_back(v);
      else
        out.push_back(v.second);
    }
    std::sort(knobs.begin(), knobs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < knobs.size() && i < 3; ++i) out.push_back(knobs[i].second);
    return out;
  }

  // Share of the network's time: layers x manual time (x best when known).
  double weight(const Signature& s) const { return s.count * (s.has_best ? s.best_ms : 1.0); }

  // The next job to start, or nullopt when nothing is left (or everything left waits on a
  // reference); a confirmation round only if `trials_left` candidates cover its finalists.
  std::optional<Next> next(int trials_left) {
    std::vector<int> order(sigs.size());
    for (std::size_t i = 0; i < sigs.size(); ++i) order[i] = int(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return weight(sigs[a]) > weight(sigs[b]); });
    for (int i : order)  // references first, for signatures with work left
      if (!sigs[i].reference && !sigs[i].reference_running && !sigs[i].reference_failed && !converged(sigs[i])) {
        return Next{Next::Kind::reference, i, {}, {}};
      }
    bool waiting = false;
    for (int i : order) {  // every manual schedule first: its time is the signature's weight
      if (sigs[i].reference && !sigs[i].tried.count(base[0].key())) return Next{Next::Kind::candidate, i, base[0], {}};
      waiting |= sigs[i].reference_running;
    }
    if (waiting) return std::nullopt;  // until each reference is there and its manual started
    for (int i : order) {
      Signature& s = sigs[i];
      if (s.reference && !s.confirmed && !s.confirm_running && search_done(s)) {
        std::vector<TunedSchedule> f = finalists(s);
        if (f.size() >= 2 && int(f.size()) <= trials_left) return Next{Next::Kind::confirmation, i, {}, f};
      }
    }
    int pick = -1;
    double best = -1;
    for (int i : order) {
      const Signature& s = sigs[i];
      if (!s.reference || search_done(s)) continue;
      double p = weight(s) / (1.0 + s.trials);
      if (p > best) best = p, pick = i;
    }
    if (pick < 0) return std::nullopt;
    Signature& s = sigs[pick];
    for (const TunedSchedule& b : base)  // the autoschedulers, then the search
      if (!s.tried.count(b.key())) return Next{Next::Kind::candidate, pick, b, {}};
    KnobSpace space(lowered.layers[s.layer], target);
    TunedSchedule from = s.best;
    if (from.kind != TunedSchedule::Kind::knobs) {  // start from the manual schedule's knobs
      from.kind = TunedSchedule::Kind::knobs;
      from.knobs = resolve_conv_knobs(lowered.layers[s.layer], target, {});
    }
    if (!s.tried.count(from.key())) return Next{Next::Kind::candidate, pick, from, {}};
    for (int attempt = 0; attempt < 200; ++attempt) {
      TunedSchedule c = std::uniform_real_distribution<double>(0, 1)(rng) < 0.8 ? space.mutate(from, rng)
                                                                                : space.random(rng);
      if (space.legal(c) && !s.tried.count(c.key())) return Next{Next::Kind::candidate, pick, c, {}};
    }
    s.since_improvement = patience;  // the neighbourhood is exhausted
    return next(trials_left);
  }

  double estimate_ms() const {
    double t = 0;
    for (const Signature& s : sigs) t += s.count * (s.has_best ? s.best_ms : s.manual_ms);
    return t;
  }
  double manual_estimate_ms() const {
    double t = 0;
    for (const Signature& s : sigs) t += s.count * s.manual_ms;
    return t;
  }
};

std::vector<SignatureReport> report_of(const Tuner& t) {
  std::vector<SignatureReport> out;
  // The network first, as a pseudo-signature: its estimated latency against records.
  out.push_back(SignatureReport{.signature = "network (estimated: sum of layers x kernel time)",
                                .count = 0,
                                .baselines = {{"manual", t.manual_estimate_ms()}},
                                .curve = t.network_curve,
                                .best_ms = t.estimate_ms(),
                                .best_key = "",
                                .trials = t.noted,
                                .failed = 0});
  for (const Signature& s : t.sigs) {
    out.push_back(SignatureReport{.signature = s.text,
                                  .count = s.count,
                                  .baselines = s.baselines,
                                  .curve = s.curve,
                                  .best_ms = s.best_ms,
                                  .best_key = s.best_key,
                                  .trials = s.trials,
                                  .failed = s.failed});
  }
  return out;
}

void progress(const Tuner& t, int done, int limit, const Signature& s, bool tty) {
  std::string line = fmt::format("[{}{}] {:<44.44} best {:.4f} ms ({}) | network est. {:.2f} ms (manual {:.2f})",
                                 done, limit > 0 ? fmt::format("/{}", limit) : "", s.text, s.best_ms, s.best_key,
                                 t.estimate_ms(), t.manual_estimate_ms());
  if (tty)
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
  else
    std::cerr << line << "\n";
}

constexpr const char* kHelp = R"(usage: resgen tune NET [--target T] [--budget MINUTES | --trials N] [--db FILE] [--jobs J]
                   [--input CxHxW] [--classes K] [--threads T] [--timeout S] [--patience P]
                   [--beam B] [--report FILE]
  Searches schedules for each distinct kernel of NET on this machine and appends every
  measured candidate to the database (JSON lines); run it again to resume. Apply the result
  with `resgen generate NET --schedule tuned:FILE`.
  --target    a named target this machine runs (default: this machine's features)
  --budget    minutes of tuning (default 30); --trials N instead measures N candidates
  --db        the database file (default: NET.<target>.jsonl in the current folder)
  --jobs      candidates compiled in parallel (default: one per core); timed runs never overlap
  --threads   threads each candidate is timed with (default 2)
  --timeout   seconds a candidate may take to compile, check and time before it is killed (default 120)
  --patience  trials without a 1% gain after which a kernel stops (default 12)
  --beam      also run Adams2019 with this beam size (default 0: greedy only; wide beams take minutes)
  --report    the HTML report (default: the database's path + .html)
)";

}  // namespace

int cmd_tune(const std::vector<std::string>& argv) {
  Args args(argv, {"--target", "--input", "--classes", "--budget", "--trials", "--db", "--jobs", "--threads",
                   "--timeout", "--patience", "--beam", "--report"},
            {});
  if (args.help()) {
    std::cout << kHelp;
    return 0;
  }
  if (args.has("--budget") && args.has("--trials")) throw Error("give --budget or --trials, not both");
  int trials_limit = args.has("--trials") ? parse_int(*args.get("--trials"), "--trials", 0, 1000000) : -1;
  double budget_s = 60.0 * (args.has("--budget") ? parse_int(*args.get("--budget"), "--budget", 1, 100000) : 30);
  if (trials_limit >= 0) budget_s = 1e18;
  std::string target_name = args.get("--target").value_or(host_target());
  check_target(target_name);
  if (split_targets(target_name).size() != 1) throw Error("--target " + target_name + ": tune one target at a time");
  Halide::Target target(target_name);
  if (target.has_gpu_feature()) throw Error("--target " + target_name + ": GPU targets cannot be tuned yet");
  if (target.arch != Halide::get_host_target().arch || target.os != Halide::get_host_target().os)
    throw Error("--target " + target_name + ": tuning measures on this machine; give a target it runs");
  Lowered lowered = lower(network_from(args, "tune"));
  std::string db_path = args.get("--db").value_or(lowered.network + "." + target_key(target) + ".jsonl");
  std::string report_path = args.get("--report").value_or(db_path + ".html");

  int beam = args.has("--beam") ? parse_int(*args.get("--beam"), "--beam", 0, 64) : 0;
  Tuner t{.lowered = lowered, .target = target, .target_key = target_key(target), .config = {}, .base = baselines(target, beam), .patience = 12, .sigs = {}, .network_curve = {}, .noted = 0};
  t.patience = args.has("--patience") ? parse_int(*args.get("--patience"), "--patience", 1, 100000) : 12;
  t.config.target = target_name;
  t.config.threads = args.has("--threads") ? parse_int(*args.get("--threads"), "--threads", 1, 1024) : 2;
  t.config.timeout_s = args.has("--timeout") ? parse_int(*args.get("--timeout"), "--timeout", 1, 100000) : 120;
  int jobs = args.has("--jobs") ? parse_int(*args.get("--jobs"), "--jobs", 1, 256)
                                : std::max(1, int(std::thread::hardware_concurrency()));

  // The signatures and what the database already knows of them.
  for (const Kernel& k : lowered.kernels) {
    Signature s;
    s.text = k.signature, s.layer = k.representative;
    s.conv = lowered.layers[k.representative].kind == LayerKind::conv;
    t.sigs.push_back(s);
  }
  for (const Layer& l : lowered.layers) ++t.sigs[l.kernel_id].count;
  Database db = Database::load(db_path, t.target_key);
  for (const std::string& p : db.problems) std::cerr << "warning: " << p << "\n";
  int reused = 0;
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < t.sigs.size(); ++i) index[t.sigs[i].text] = int(i);
  for (const ScheduleRecord& r : db.records)  // in file order, as they were measured
    if (auto it = index.find(r.signature); it != index.end()) t.note(t.sigs[it->second], r), ++reused;
  int done_before = 0;
  for (Signature& s : t.sigs) done_before += t.converged(s) && s.trials > 0;
  std::cout << fmt::format("tune {}: {} kernels, target {}, database {} ({} records reused, {} kernels already done)\n",
                           lowered.network, t.sigs.size(), t.target_key, db_path, reused, done_before)
            << std::flush;

  char tmpl[] = "/tmp/resgen-tune-XXXXXX";
  if (!mkdtemp(tmpl)) throw Error("cannot create a temporary folder for the tuner");
  t.config.work_dir = tmpl;
  DatabaseWriter writer(db_path);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  bool tty = isatty(2);
  auto start = Clock::now();
  std::vector<Job> running;
  int started = 0, measured = 0;
  for (;;) {
    bool out_of_budget = (trials_limit >= 0 && started >= trials_limit) ||
                         std::chrono::duration<double>(Clock::now() - start).count() >= budget_s;
    while (!g_interrupted && !out_of_budget && int(running.size()) < jobs) {
      auto n = t.next(trials_limit >= 0 ? trials_limit - started : 1 << 30);
      if (!n) break;
      Signature& s = t.sigs[n->signature];
      const Layer& layer = lowered.layers[s.layer];
      if (n->kind == Next::Kind::reference) {
        s.reference_running = true;
        running.push_back(start_job(layer, n->signature, true, {}, t.config));
      } else if (n->kind == Next::Kind::confirmation) {
        s.confirm_running = true;
        started += int(n->finalists.size());
        running.push_back(start_confirmation(layer, n->signature, n->finalists, t.config));
      } else {
        s.tried.insert(n->schedule.key()), ++started;
        running.push_back(start_job(layer, n->signature, false, n->schedule, t.config));
      }
      out_of_budget = trials_limit >= 0 && started >= trials_limit;
    }
    if (running.empty() || g_interrupted) break;
    usleep(20000);
    for (std::size_t j = 0; j < running.size();) {
      std::optional<Outcome> o = poll_job(running[j], t.config);
      if (!o) {
        ++j;
        continue;
      }
      Job job = running[j];
      running.erase(running.begin() + j);
      Signature& s = t.sigs[job.signature];
      if (job.reference) {
        s.reference_running = false;
        s.reference = o->status == "ok";
        s.reference_failed = !s.reference;
        if (s.reference_failed)
          std::cerr << fmt::format("\nwarning: {}: the reference output could not be computed ({}); not tuned\n",
                                   s.text, o->error);
        continue;
      }
      auto record = [&](const TunedSchedule& schedule, const Outcome& o, bool paired) {
        ScheduleRecord r;
        r.signature = s.text, r.target = t.target_key, r.halide = halide_version(), r.resgen = resgen_version();
        r.schedule = schedule, r.status = o.status, r.time_ms = o.median_ms, r.min_ms = o.min_ms;
        r.fast_ms = o.fast_ms;
        r.measure.threads = t.config.threads, r.measure.reps = o.reps, r.error = o.error;
        if (paired) r.measure.method = "paired";
        r.network = lowered.network, r.trial = s.trials + 1;
        writer.append(r);
        t.note(s, r);
        ++measured;
      };
      if (!job.finalists.empty()) {
        s.confirm_running = false;
        if (o->status != "ok") {
          s.confirmed = true;  // keep the search's times
          std::cerr << fmt::format("\nwarning: {}: the confirmation round failed ({})\n", s.text, o->error);
          continue;
        }
        for (std::size_t f = 0; f < job.finalists.size(); ++f) record(job.finalists[f], o->finalists[f], true);
      } else {
        record(job.schedule, *o, false);
      }
      progress(t, measured, trials_limit, s, tty);
    }
  }
  if (g_interrupted) {
    for (Job& j : running) kill_job(j);
    std::cerr << fmt::format("\ninterrupted: {} candidates in flight dropped; {} measured candidates are in {}\n",
                             running.size(), measured, db_path);
  } else if (tty) {
    std::cerr << "\n";
  }
  std::error_code ec;
  fs::remove_all(t.config.work_dir, ec);

  std::vector<SignatureReport> rep = report_of(t);
  std::cout << text_report({rep.begin() + 1, rep.end()});
  std::ofstream(report_path) << html_report(lowered.network, t.target_key, rep);
  int left = 0;
  for (const Signature& s : t.sigs) left += !t.converged(s);
  std::cout << fmt::format("{} candidates measured in {:.0f} s; {} kernels not yet converged; report: {}\n", measured,
                           std::chrono::duration<double>(Clock::now() - start).count(), left, report_path);
  return g_interrupted ? 130 : 0;
}

}  // namespace resgen::cli
