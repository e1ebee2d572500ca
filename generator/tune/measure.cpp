// Measuring one candidate schedule in a child process (generator/tune/tuner.hpp).
//
// A candidate may crash the compiler, crash or hang the kernel, or compute a wrong result; it
// runs in a forked child so none of that reaches the tuner, and it reports one line back
// through a pipe: "ok MEDIAN_MS MIN_MS REPS MAX_ERROR", "wrong MAX_ERROR", or "error WHY".
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <memory>
#include <thread>

#include "generator/error.hpp"
#include "generator/kernel.hpp"
#include "generator/tune/tuner.hpp"

namespace resgen::tune {
namespace {

using Clock = std::chrono::steady_clock;

// Seeded inputs in [-1, 1): the same for every candidate of a signature and its reference.
void fill(Halide::Buffer<float>& b, const std::string& name) {
  std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(name) & 0xffffffffu));
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  b.for_each_value([&](float& v) { v = d(rng); });
}

// Testing hook: RESGEN_TUNE_FAULT="crash:KEY,hang:KEY" makes the candidate with schedule key
// KEY crash or hang in its child, so tests can check that the tuner survives and records it.
void injected_fault(const std::string& key) {
  const char* env = std::getenv("RESGEN_TUNE_FAULT");
  if (!env) return;
  std::stringstream items(env);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item == "crash:" + key) raise(SIGSEGV);
    if (item == "hang:" + key)
      for (;;) pause();
  }
}

// A kernel compiled with one schedule, bound to the signature's seeded inputs.
struct Compiled {
  KernelPipeline kp;
  Halide::Pipeline pipe;
  std::vector<Halide::Buffer<float>> inputs;
  Halide::Buffer<float> out;
  Compiled(const Layer& layer, const TunedSchedule* schedule, const Halide::Target& target)
      : kp(define_kernel(layer, schedule ? schedule_algorithm(*schedule, layer, target) : ConvAlgorithm::direct)) {
    pipe = Halide::Pipeline(kp.output);
    // Without a schedule: the reference, Halide's default schedule (no tiling, no vectors).
    if (schedule) apply_tuned_schedule(*schedule, layer, kp, pipe, target);
    pipe.compile_jit(target);
    for (Halide::ImageParam p : kp.params) {
      Halide::Buffer<float> b(kp.estimates.at(p.name()));
      fill(b, p.name());
      inputs.push_back(b);
    }
    out = Halide::Buffer<float>(kp.output_estimate);
  }
  void run(const Halide::Target& target) {
    for (std::size_t i = 0; i < kp.params.size(); ++i) kp.params[i].set(inputs[i]);
    pipe.realize(out, target);
  }
};

// The largest difference from the reference output, or infinity when a value is NaN.
double max_error(const Halide::Buffer<float>& out, const std::vector<float>& ref) {
  double err = 0;
  const float* got = out.data();
  for (std::size_t i = 0; i < ref.size(); ++i) {
    double e = std::fabs(double(got[i]) - double(ref[i]));
    if (!(e <= err)) err = std::isnan(e) ? INFINITY : e;
  }
  return err;
}

std::vector<float> read_reference(const std::string& path, std::size_t n) {
  std::vector<float> ref(n);
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(ref.data()), ref.size() * sizeof(float));
  if (!f) throw Error("cannot read the reference output " + path);
  return ref;
}

// The tolerance of resgen's op tests: reduction order changes float sums this much at most.
bool matches(double err, const std::vector<float>& ref) {
  double scale = 1;
  for (float r : ref) scale = std::max(scale, double(std::fabs(r)));
  return err <= 1e-4 * scale;
}

// The timing lock: compiling and checking a candidate take it shared, timing takes it
// exclusive, so a timed run never shares the cores with another candidate's compilation. (With
// timing alone exclusive, the paired rounds of the 0.3.0 and first 0.4.0 databases ran beside
// compilations and claimed gains of 5 to 17% that the same kernels timed in turns did not show.)
struct TimingLock {
  int fd;
  explicit TimingLock(const MeasureConfig& cfg, int mode = LOCK_EX) {
    fd = open((cfg.work_dir + "/timing.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, mode) != 0) throw Error("cannot take the timing lock");
  }
  void release() {
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
    fd = -1;
  }
  ~TimingLock() { release(); }
};

double run_ms(Compiled& c, const Halide::Target& target) {
  auto t0 = Clock::now();
  c.run(target);
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string summary(std::vector<double> ms, double err) {
  std::sort(ms.begin(), ms.end());
  return fmt::format("ok {} {} {} {} {}", ms[ms.size() / 2], ms.front(), ms.size(), err, ms[ms.size() / 4]);
}

std::string run_child(const Layer& layer, int signature, bool reference, const TunedSchedule& schedule,
                      const MeasureConfig& cfg) {
  setenv("HL_NUM_THREADS", std::to_string(cfg.threads).c_str(), 1);
  Halide::Target target(cfg.target);
  if (!reference) injected_fault(schedule.key());
  TimingLock building(cfg, LOCK_SH);
  Compiled c(layer, reference ? nullptr : &schedule, target);
  c.out.fill(std::nanf(""));
  c.run(target);
  std::string ref_path = reference_path(cfg, signature);
  if (reference) {
    std::ofstream f(ref_path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(c.out.data()), c.out.size_in_bytes());
    if (!f) return "error cannot write the reference output " + ref_path;
    return "ok 0 0 0 0";
  }
  std::vector<float> ref = read_reference(ref_path, c.out.number_of_elements());
  double err = max_error(c.out, ref);
  if (!matches(err, ref)) return fmt::format("wrong {}", err);

  building.release();
  TimingLock lock(cfg);  // timed runs, one candidate at a time, nothing compiling
  c.run(target);         // warm caches and the thread pool under the lock
  std::vector<double> ms;
  auto begin = Clock::now();
  while (ms.size() < 200 &&
         (ms.size() < 3 || std::chrono::duration<double>(Clock::now() - begin).count() < cfg.min_timed_s))
    ms.push_back(run_ms(c, target));
  return summary(ms, err);
}

// One line per finalist, in order.
std::string run_confirmation(const Layer& layer, int signature, const std::vector<TunedSchedule>& finalists,
                             const MeasureConfig& cfg) {
  setenv("HL_NUM_THREADS", std::to_string(cfg.threads).c_str(), 1);
  Halide::Target target(cfg.target);
  std::vector<std::unique_ptr<Compiled>> kernels;
  std::vector<std::string> lines(finalists.size());
  std::vector<double> errs(finalists.size());
  TimingLock building(cfg, LOCK_SH);
  for (std::size_t i = 0; i < finalists.size(); ++i) {
    try {
      auto c = std::make_unique<Compiled>(layer, &finalists[i], target);
      c->out.fill(std::nanf(""));
      c->run(target);
      std::vector<float> ref = read_reference(reference_path(cfg, signature), c->out.number_of_elements());
      errs[i] = max_error(c->out, ref);
      if (matches(errs[i], ref)) kernels.push_back(std::move(c));
      else lines[i] = fmt::format("wrong {}", errs[i]), kernels.emplace_back();
    } catch (const std::exception& e) {
      lines[i] = std::string("error ") + e.what();
      kernels.emplace_back();
    }
  }
  std::vector<std::vector<double>> ms(finalists.size());
  building.release();
  {
    TimingLock lock(cfg);
    for (auto& k : kernels)
      if (k) k->run(target);
    auto begin = Clock::now();
    // Four times a search candidate's timing each: the round decides.
    double total = 4 * cfg.min_timed_s * finalists.size();
    for (int round = 0; round < 80 && (round < 3 || std::chrono::duration<double>(Clock::now() - begin).count() < total);
         ++round)
      for (std::size_t i = 0; i < kernels.size(); ++i)
        if (kernels[i])
          for (int r = 0; r < 3; ++r) ms[i].push_back(run_ms(*kernels[i], target));
  }
  std::string out;
  for (std::size_t i = 0; i < finalists.size(); ++i) {
    std::string line = kernels[i] ? summary(ms[i], errs[i]) : lines[i];
    for (char& ch : line)
      if (ch == '\n') ch = ' ';
    out += line.substr(0, 500) + "\n";
  }
  return out;
}

Outcome parse_outcome(const std::string& msg) {
  Outcome o;
  std::istringstream in(msg);
  std::string head;
  in >> head;
  if (head == "ok") {
    o.status = "ok";
    in >> o.median_ms >> o.min_ms >> o.reps >> o.max_error >> o.fast_ms;
  } else if (head == "wrong") {
    o.status = "wrong";
    in >> o.max_error;
    o.error = fmt::format("output differs from the reference by {}", o.max_error);
  } else {
    o.status = "failed";
    std::getline(in, o.error);
    if (!o.error.empty() && o.error[0] == ' ') o.error.erase(0, 1);
    if (o.error.empty()) o.error = "no result";
  }
  return o;
}

}  // namespace

std::string reference_path(const MeasureConfig& cfg, int signature) {
  return fmt::format("{}/reference{}.bin", cfg.work_dir, signature);
}

namespace {

// Forks a child that runs `body` and writes what it returns to the job's pipe.
template <typename F>
Job fork_job(Job job, F body) {
  int fds[2];
  if (pipe(fds) != 0) throw Error("cannot create a pipe for a candidate process");
  job.start = Clock::now();
  job.pid = fork();
  if (job.pid < 0) throw Error("cannot fork a candidate process");
  if (job.pid == 0) {
    close(fds[0]);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    std::string msg;
    try {
      msg = body();
    } catch (const Halide::Error& e) {
      msg = std::string("error Halide: ") + e.what();
    } catch (const std::exception& e) {
      msg = std::string("error ") + e.what();
    }
    if (msg.empty() || msg.back() != '\n') {
      for (char& c : msg)
        if (c == '\n') c = ' ';
      msg = msg.substr(0, 2000) + "\n";
    }
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  close(fds[1]);
  job.fd = fds[0];
  return job;
}

}  // namespace

Job start_confirmation(const Layer& layer, int signature, const std::vector<TunedSchedule>& finalists,
                       const MeasureConfig& cfg) {
  Job job;
  job.signature = signature;
  job.finalists = finalists;
  return fork_job(job, [&] { return run_confirmation(layer, signature, finalists, cfg); });
}

Job start_job(const Layer& layer, int signature, bool reference, const TunedSchedule& schedule,
              const MeasureConfig& cfg) {
  Job job;
  job.signature = signature;
  job.reference = reference;
  job.schedule = schedule;
  return fork_job(job, [&] { return run_child(layer, signature, reference, schedule, cfg); });
}

std::optional<Outcome> poll_job(Job& job, const MeasureConfig& cfg) {
  int status = 0;
  pid_t r = waitpid(job.pid, &status, WNOHANG);
  if (r == 0) {
    // The reference is the unscheduled algorithm: slow to run, and it is not a candidate.
    double limit = job.reference ? std::max(300.0, 5 * cfg.timeout_s)
                                 : cfg.timeout_s * std::max<std::size_t>(1, job.finalists.size());
    if (std::chrono::duration<double>(Clock::now() - job.start).count() < limit) return std::nullopt;
    kill_job(job);
    Outcome o;
    o.status = "timeout";
    o.error = fmt::format("killed after {} s", limit);
    return o;
  }
  std::string msg;
  char buf[4096];
  for (ssize_t n; (n = read(job.fd, buf, sizeof buf)) > 0;) msg.append(buf, n);
  close(job.fd);
  job.fd = -1;
  job.pid = -1;
  if (WIFSIGNALED(status)) {
    Outcome o;
    o.status = "failed";
    o.error = fmt::format("crashed ({})", strsignal(WTERMSIG(status)));
    return o;
  }
  if (job.finalists.empty()) return parse_outcome(msg);
  Outcome all;
  std::istringstream lines(msg);
  for (std::string line; std::getline(lines, line);) all.finalists.push_back(parse_outcome(line));
  all.status = all.finalists.size() == job.finalists.size() ? "ok" : "failed";
  if (all.status != "ok") all.error = msg.empty() ? "no result" : msg.substr(0, 500);
  return all;
}

void kill_job(Job& job) {
  if (job.pid > 0) {
    kill(job.pid, SIGKILL);
    waitpid(job.pid, nullptr, 0);
  }
  if (job.fd >= 0) close(job.fd);
  job.pid = -1;
  job.fd = -1;
}

}  // namespace resgen::tune
