// kernel_lab: each distinct convolution (and linear layer) of a network, JIT-compiled with the
// manual CPU schedule for this machine and timed alone, checked against the unscheduled
// algorithm first: the quick loop for schedule work (seconds per kernel instead of a generate
// and a bench). README "How it works" describes the options.
//   build/kernel_lab NET [--input CxHxW] [--only SUBSTRING] [--knobs K]
//                        [--vs K | --vs-env NAME=VALUE | --vs-tuned DB | --vs-target T | --vs-in-place]
//                        [--batch N] [--cold 1|2|3] [--stmt DIR]
// Prints per kernel the median ms of a batch, GFLOP/s and the knobs; with --vs, --vs-env,
// --vs-tuned (B: each kernel's best record in the tuning database DB, as generate --schedule
// tuned:DB applies it), --vs-target (B: the manual schedule compiled for target T, e.g. AVX2
// on an AVX-512 host) or --vs-in-place (B: A's kernel writing its output over its residual, as a
// library plans it; kernels with a residual whose schedule computes each output element once),
// A and B timed in turns and B/A. Threads: HL_NUM_THREADS; target: HL_JIT_TARGET, else the host.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "generator/kernel.hpp"
#include "generator/lowered.hpp"
#include "generator/registry.hpp"
#include "resgen/zoo.hpp"
#include "schedules/database.hpp"
#include "schedules/schedules.hpp"

using namespace resgen;
using Clock = std::chrono::steady_clock;

namespace {

// --cold 1: every timed run starts with the caches full of other data (64 MB written). --cold 2:
// the kernel's weights are flushed before each run, as in a network whose weights outgrow the
// last-level cache. --cold 3: the residual and the output too, as a layer finds them in a
// network, where only the input was written just before.
int cold = 0;
// Writes back and drops a buffer's lines from every cache level.
void flush(const Halide::Buffer<float>& b) {
  const char* p = reinterpret_cast<const char*>(b.data());
  for (std::size_t i = 0; i < b.size_in_bytes(); i += 64) __builtin_ia32_clflush(p + i);
  __builtin_ia32_mfence();
}
int batch = 1;
void evict_caches() {
  static std::vector<float> junk(64 << 20 >> 2);
  for (std::size_t i = 0; i < junk.size(); i += 16) junk[i] += 1.0f;
}

struct Instance {
  KernelPipeline kp = {};
  Halide::Pipeline pipe;
  std::vector<Halide::Buffer<float>> inputs;
  Halide::Buffer<float> out;
  bool in_place = false;  // timed runs write the output over the residual (after the check)
  bool checked = false;

  // Scheduled by `tuned`, else by the manual schedule with `knobs`, else not at all.
  Instance(const Layer& l, const ConvKnobs* knobs, const Halide::Target& t, const TunedSchedule* tuned = nullptr)
      : kp(define_kernel(l, tuned    ? schedule_algorithm(*tuned, l, t)
                            : knobs ? conv_algorithm(l, t, *knobs)
                                    : ConvAlgorithm::direct)) {
    pipe = Halide::Pipeline(kp.output);
    if (tuned)
      apply_tuned_schedule(*tuned, l, kp, pipe, t);
    else if (knobs)
      schedule_cpu_manual(l, kp, t, *knobs);
    pipe.compile_jit(t);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> d(-1, 1);
    for (Halide::ImageParam p : kp.params) {
      std::vector<int> extents = kp.estimates.at(p.name());
      if (p.name() == "input" || p.name() == "residual") extents.back() = batch;
      Halide::Buffer<float> b(extents);
      b.for_each_value([&](float& v) { v = d(rng); });
      inputs.push_back(b);
    }
    std::vector<int> extents = kp.output_estimate;
    extents.back() = batch;
    out = Halide::Buffer<float>(extents);
  }
  double run_ms(const Halide::Target& t) {
    if (cold == 1) evict_caches();
    if (cold >= 2)
      for (std::size_t i = 0; i < kp.params.size(); ++i)
        if (kp.params[i].name() == "weights" || (cold == 3 && kp.params[i].name() == "residual"))
          flush(inputs[i]);
    if (cold == 3) flush(out);
    for (std::size_t i = 0; i < kp.params.size(); ++i) kp.params[i].set(inputs[i]);
    Halide::Buffer<float> dst = out;
    if (in_place && checked)
      for (std::size_t i = 0; i < kp.params.size(); ++i)
        if (kp.params[i].name() == "residual") dst = inputs[i];
    auto t0 = Clock::now();
    pipe.realize(dst, t);
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
};

// "cv2-t6-r3-b64-o1-p2", any subset of the fields in any order; the others stay to the heuristic.
ConvKnobs parse_knobs(const std::string& text) {
  ConvKnobs k;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('-', at);
    std::string f = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (f.rfind("cv", 0) == 0)
      k.channel_vectors = std::atoi(f.c_str() + 2);
    else if (f[0] == 't')
      k.tile = std::atoi(f.c_str() + 1);
    else if (f[0] == 'r')
      k.rows = std::atoi(f.c_str() + 1);
    else if (f[0] == 'b')
      k.channel_block = std::atoi(f.c_str() + 1);
    else if (f[0] == 'o')
      k.order = std::atoi(f.c_str() + 1);
    else if (f[0] == 'p')
      k.padded = std::atoi(f.c_str() + 1);
    else if (f[0] == 's')
      k.span = std::atoi(f.c_str() + 1);
    else if (f[0] == 'a')
      k.algorithm = std::atoi(f.c_str() + 1);
    else if (f[0] == 'm')
      k.accumulators = std::atoi(f.c_str() + 1);
  }
  return k;
}

// The median of `v`.
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool agrees(const Instance& ref, const Instance& got) {
  double err = 0;
  for (int i = 0; i < int(ref.out.number_of_elements()); ++i)
    err = std::max(err, double(std::fabs(ref.out.data()[i] - got.out.data()[i])));
  return err < 1e-3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(
        stderr,
        "usage: kernel_lab NET [--input CxHxW] [--only SUBSTRING] [--knobs K] "
        "[--vs K | --vs-env NAME=VALUE | --vs-tuned DB | --vs-target T | --vs-in-place] [--batch N] "
        "[--cold 1|2|3] [--stmt DIR]\n");
    return 2;
  }
  std::string net = argv[1], only, stmt_dir, vs_env, vs_tuned, vs_target;
  std::optional<dsl::Shape> input;
  ConvKnobs knobs, vs_knobs;
  bool paired = false, vs_in_place = false;
  for (int i = 2; i < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--vs-in-place") {
      vs_in_place = paired = true;
      --i;  // takes no value
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "kernel_lab: %s: an unknown option, or one without its value\n", a.c_str());
      return 2;
    }
    if (a == "--only")
      only = argv[i + 1];
    else if (a == "--stmt")
      stmt_dir = argv[i + 1];
    else if (a == "--batch")
      batch = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--cold")
      cold = std::clamp(std::atoi(argv[i + 1]), 0, 3);
    else if (a == "--knobs")
      knobs = parse_knobs(argv[i + 1]);
    else if (a == "--vs")
      vs_knobs = parse_knobs(argv[i + 1]), paired = true;
    else if (a == "--vs-env")
      vs_env = argv[i + 1], paired = true;
    else if (a == "--vs-target")
      vs_target = argv[i + 1], paired = true;
    else if (a == "--vs-tuned")
      vs_tuned = std::string("tuned:") + argv[i + 1], paired = true;
    else if (a == "--input") {
      int c, h, w;
      if (std::sscanf(argv[i + 1], "%dx%dx%d", &c, &h, &w) != 3) return 2;
      input = dsl::Shape{c, h, w};
    } else {
      std::fprintf(stderr, "kernel_lab: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (paired && (!vs_env.empty() || !vs_target.empty() || vs_in_place)) vs_knobs = knobs;  // B differs by that only
  if (!stmt_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(stmt_dir, error);
    if (error) {
      std::fprintf(stderr, "kernel_lab: --stmt %s: cannot make the directory: %s\n", stmt_dir.c_str(),
                   error.message().c_str());
      return 2;
    }
  }
  try {
    if (!vs_tuned.empty()) check_tuned_schedule(vs_tuned);
    Lowered low = lower(build_network(net, input, std::nullopt));
    Halide::Target t = Halide::get_jit_target_from_environment();  // HL_JIT_TARGET, else the host
    Halide::Target tb = vs_target.empty() ? t : Halide::Target(vs_target);
    double total = 0, total_b = 0;
    if (paired)
      fmt::print("{:>8} {:>8} {:>6} {:>5}  {:<16} {}\n", "A ms", "B ms", "B/A", "count", "knobs A", "kernel");
    else
      fmt::print("{:>8} {:>8} {:>8} {:>5}  {:<16} {}\n", "ms", "min ms", "GFLOP/s", "count", "knobs",
                 "kernel");
    for (const Kernel& k : low.kernels) {
      const Layer& l = low.layers[k.representative];
      if ((l.kind != LayerKind::conv && l.kind != LayerKind::linear) ||
          k.signature.find(only) == std::string::npos)
        continue;
      int count = 0;
      for (const Layer& m : low.layers) count += m.kernel_id == l.kernel_id;
      if (vs_in_place && (l.residual != Residual::same || !conv_writes_each_output_once(l, t, knobs))) continue;
      try {
        resolve_conv_knobs(l, t, knobs);
        if (paired) resolve_conv_knobs(l, tb, vs_knobs);
      } catch (const std::exception& e) {
        if (l.kind == LayerKind::conv) {
          fmt::print("skipped: {}\n", e.what());
          continue;
        }
      }
      Instance ref(l, nullptr, t), a(l, &knobs, t);
      std::unique_ptr<Instance> b;
      std::string b_schedule;
      if (!vs_tuned.empty()) {
        const ScheduleRecord* r = tuned_record(vs_tuned, l, t);
        b_schedule = r ? r->schedule.key() : "manual";
        b = r ? std::make_unique<Instance>(l, nullptr, t, &r->schedule) : std::make_unique<Instance>(l, &vs_knobs, t);
      } else if (paired) {
        std::string name = vs_env.substr(0, vs_env.find('='));
        if (!vs_env.empty()) setenv(name.c_str(), vs_env.substr(vs_env.find('=') + 1).c_str(), 1);
        b = std::make_unique<Instance>(l, &vs_knobs, tb);
        if (!vs_env.empty()) unsetenv(name.c_str());
        b->in_place = vs_in_place;
      }
      ref.run_ms(t);
      a.run_ms(t);
      if (b) b->run_ms(tb);
      if (!agrees(ref, a) || (b && !agrees(ref, *b))) {
        fmt::print(stderr, "kernel_lab: {} differs from the algorithm\n", k.signature);
        return 1;
      }
      a.checked = true;
      if (b) b->checked = true;
      if (!stmt_dir.empty()) {
        a.pipe.compile_to_lowered_stmt(fmt::format("{}/k{}.html", stmt_dir, l.kernel_id), a.kp.args,
                                       Halide::StmtOutputFormat::HTML, t);
        a.pipe.compile_to_assembly(fmt::format("{}/k{}.s", stmt_dir, l.kernel_id), a.kp.args, "k", t);
      }
      // Rounds of a few runs each, A and B in turns, so both see the same machine.
      std::vector<double> ms_a, ms_b;
      auto end = Clock::now() + std::chrono::milliseconds(paired ? 1200 : 400);
      while (ms_a.size() < 10 || (Clock::now() < end && ms_a.size() < 1000))
        for (int r = 0; r < 5; ++r) {
          ms_a.push_back(a.run_ms(t));
          if (b) ms_b.push_back(b->run_ms(tb));
        }
      double med = median(ms_a);
      double flops = batch * (l.kind == LayerKind::linear ? 2.0 * l.out.c * l.in.c * l.in.w * l.in.h
                                                          : 2.0 * l.out.c * l.out.w * l.out.h *
                                                                (l.in.c / l.groups) * l.kernel * l.kernel);
      TunedSchedule a_schedule{TunedSchedule::Kind::knobs};
      if (l.kind == LayerKind::conv) a_schedule.knobs = resolve_conv_knobs(l, t, knobs);
      std::string knob_text = a_schedule.key();
      total += med * count;
      if (paired) {
        double mb = median(ms_b);
        total_b += mb * count;
        fmt::print("{:8.3f} {:8.3f} {:6.3f} {:5d}  {:<16} {}{}\n", med, mb, mb / med, count, knob_text,
                   k.signature, b_schedule.empty() ? "" : "  (B: " + b_schedule + ")");
      } else {
        double lo = *std::min_element(ms_a.begin(), ms_a.end());
        fmt::print("{:8.3f} {:8.3f} {:8.1f} {:5d}  {:<16} {}\n", med, lo, flops / med / 1e6, count, knob_text,
                   k.signature);
      }
    }
    if (paired)
      fmt::print("{:8.3f} {:8.3f} {:6.3f}  ms in the convolutions, weighted by use\n", total, total_b,
                 total_b / total);
    else
      fmt::print("{:8.3f} ms in the convolutions, weighted by use\n", total);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kernel_lab: %s\n", e.what());
    return 1;
  }
}
