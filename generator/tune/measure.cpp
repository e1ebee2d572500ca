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

std::string run_child(const Layer& layer, int signature, bool reference, const TunedSchedule& schedule,
                      const MeasureConfig& cfg) {
  setenv("HL_NUM_THREADS", std::to_string(cfg.threads).c_str(), 1);
  Halide::Target target(cfg.target);
  KernelPipeline kp = define_kernel(layer);
  Halide::Pipeline pipe(kp.output);
  if (!reference) {
    injected_fault(schedule.key());
    apply_tuned_schedule(schedule, layer, kp, pipe, target);
  }
  // The reference is the algorithm alone: Halide's default schedule, no tiling, no vectors.
  pipe.compile_jit(target);
  std::vector<Halide::Buffer<float>> inputs;
  for (Halide::ImageParam p : kp.params) {
    Halide::Buffer<float> b(kp.estimates.at(p.name()));
    fill(b, p.name());
    p.set(b);
    inputs.push_back(b);
  }
  Halide::Buffer<float> out(kp.output_estimate);
  out.fill(std::nanf(""));
  pipe.realize(out, target);
  std::string ref_path = reference_path(cfg, signature);
  if (reference) {
    std::ofstream f(ref_path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(out.data()), out.size_in_bytes());
    if (!f) return "error cannot write the reference output " + ref_path;
    return "ok 0 0 0 0";
  }
  std::vector<float> ref(out.number_of_elements());
  std::ifstream f(ref_path, std::ios::binary);
  f.read(reinterpret_cast<char*>(ref.data()), ref.size() * sizeof(float));
  if (!f) return "error cannot read the reference output " + ref_path;
  double scale = 1, err = 0;
  for (float r : ref) scale = std::max(scale, double(std::fabs(r)));
  const float* got = out.data();
  for (std::size_t i = 0; i < ref.size(); ++i) {
    double e = std::fabs(double(got[i]) - double(ref[i]));
    if (!(e <= err)) err = std::isnan(e) ? INFINITY : e;
  }
  // The tolerance of resgen's op tests: reduction order changes float sums this much at most.
  if (!(err <= 1e-4 * scale)) return fmt::format("wrong {}", err);

  // Timed runs, one candidate at a time.
  int lock = open((cfg.work_dir + "/timing.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) return "error cannot take the timing lock";
  pipe.realize(out, target);  // warm caches and the thread pool under the lock
  std::vector<double> ms;
  auto begin = Clock::now();
  while (ms.size() < 200 &&
         (ms.size() < 3 || std::chrono::duration<double>(Clock::now() - begin).count() < cfg.min_timed_s)) {
    auto t0 = Clock::now();
    pipe.realize(out, target);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  flock(lock, LOCK_UN);
  close(lock);
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  return fmt::format("ok {} {} {} {}", sorted[sorted.size() / 2], sorted.front(), ms.size(), err);
}

Outcome parse_outcome(const std::string& msg) {
  Outcome o;
  std::istringstream in(msg);
  std::string head;
  in >> head;
  if (head == "ok") {
    o.status = "ok";
    in >> o.median_ms >> o.min_ms >> o.reps >> o.max_error;
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

Job start_job(const Layer& layer, int signature, bool reference, const TunedSchedule& schedule,
              const MeasureConfig& cfg) {
  int fds[2];
  if (pipe(fds) != 0) throw Error("cannot create a pipe for a candidate process");
  Job job;
  job.signature = signature;
  job.reference = reference;
  job.schedule = schedule;
  job.start = Clock::now();
  job.pid = fork();
  if (job.pid < 0) throw Error("cannot fork a candidate process");
  if (job.pid == 0) {
    close(fds[0]);
    signal(SIGINT, SIG_DFL);
    std::string msg;
    try {
      msg = run_child(layer, signature, reference, schedule, cfg);
    } catch (const Halide::Error& e) {
      msg = std::string("error Halide: ") + e.what();
    } catch (const std::exception& e) {
      msg = std::string("error ") + e.what();
    }
    for (char& c : msg)
      if (c == '\n') c = ' ';
    msg = msg.substr(0, 2000) + "\n";
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  close(fds[1]);
  job.fd = fds[0];
  return job;
}

std::optional<Outcome> poll_job(Job& job, const MeasureConfig& cfg) {
  int status = 0;
  pid_t r = waitpid(job.pid, &status, WNOHANG);
  if (r == 0) {
    // The reference is the unscheduled algorithm: slow to run, and it is not a candidate.
    double limit = job.reference ? std::max(300.0, 5 * cfg.timeout_s) : cfg.timeout_s;
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
  return parse_outcome(msg);
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
