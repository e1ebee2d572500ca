// resgen bench: the generated library's latency beside ONNX Runtime's and PyTorch's.
//
// Every runner is a process of its own that loads the network once and then answers "time K"
// requests on a pipe (benchmarks/bench_runner.c for resgen, benchmarks/peers.py for the
// peers), so that rounds interleave (resgen, ort, torch-eager, torch-jit, repeat) and a burst
// of load from elsewhere on the machine hits every runner alike. The runners' outputs are
// checked against PyTorch (DESIGN.md's tolerance) before anything is timed; the machine's
// fp32 peak is measured in the same run by benchmarks/peak_fma.c.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "generator/cli/args.hpp"
#include "generator/cli/bench_report.hpp"
#include "generator/cli/cache.hpp"
#include "generator/cli/commands.hpp"
#include "generator/emit.hpp"
#include "generator/registry.hpp"

#ifndef RESGEN_SOURCE_DIR
#define RESGEN_SOURCE_DIR "."
#endif

namespace resgen::cli {
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    R"(usage: resgen bench NET [--batch N] [--threads T] [--input CxHxW] [--classes K]
                    [--vs ort,torch] [--per-layer] [--rounds R] [--iterations I] [--warmup W]
                    [--schedule S] [--report FILE.svg] [--verbose]
  Times the generated library (a C program linked against it) and, with --vs, ONNX Runtime
  (ort) and PyTorch eager and TorchScript-frozen (torch, or torch-eager / torch-jit alone) on
  the same network, weights (seeded, tests/reference/resnet_reference.py), input, batch and
  thread count. Checks first that every runner matches PyTorch within DESIGN.md's tolerance.
  Then R rounds (default 7), each running I iterations of every runner in turn (default: about
  0.25 s' worth, at least 2), after W warm-up runs (default 5). Prints per runner: median and
  min latency, images/s, GFLOP/s and % of this machine's fp32 peak (an FMA kernel, the best of
  samples taken before and after each round), peak resident memory, and
  `ratio resgen/PEER: X.XXx` (resgen's median over the peer's). With 2 or more threads also
  the round trip of a cache line between two processors, sampled with the peak (a virtual
  machine's processors on one die: about 100 ns; on two: 250 ns and more, and slower runs).
  FLOPs: 2 per multiply-accumulate of convolutions and linear layers, plus one per element of
  the other pipelines (pooling: one per window element).
  --per-layer: each pipeline's share of the time, ms, GFLOP/s and % of peak, worst first,
  also drawn as an SVG bar chart (--report FILE.svg; default in the bench folder of the cache).
  Where the library shares the batch out to the threads, these are the first thread's layers,
  timed while the others run theirs beside them.
  Needs Debian's python3-torch (/usr/bin/python3, or $RESGEN_TORCH_PYTHON) for the weights;
  ort needs ONNX Runtime's venv (tools/setup_bench.sh; $RESGEN_ORT_PYTHON, default
  <source>/.venv-ort/bin/python) and is skipped with a warning when it is missing.
  Files: $RESGEN_CACHE/bench/. Sources: $RESGEN_SOURCE_DIR (default: where resgen was built from).
)";

std::string tail_of(const fs::path& log, std::size_t lines = 15) {
  std::ifstream in(log);
  std::vector<std::string> all;
  for (std::string s; std::getline(in, s);) all.push_back(s);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += "\n  " + all[i];
  return out;
}

// A runner process speaking the bench protocol on its stdin / stdout; stderr goes to a log.
class Worker {
 public:
  // `env`: NAME=VALUE pairs set for the worker unless its environment already has NAME.
  Worker(std::string name, const std::vector<std::string>& argv, const std::vector<std::string>& env,
         const fs::path& log)
      : name_(std::move(name)), log_(log) {
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0)
      throw Error("bench: cannot create a pipe: " + std::string(std::strerror(errno)));
    pid_ = fork();
    if (pid_ < 0) throw Error("bench: cannot start " + name_ + ": " + std::strerror(errno));
    if (pid_ == 0) {
      int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(to[0], 0);
      dup2(from[1], 1);
      if (err >= 0) dup2(err, 2);
      close(to[1]), close(from[0]);
      for (const std::string& e : env)
        setenv(e.substr(0, e.find('=')).c_str(), e.substr(e.find('=') + 1).c_str(), 0);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
      _exit(127);
    }
    close(to[0]), close(from[1]);
    in_ = fdopen(to[1], "w");
    out_ = fdopen(from[0], "r");
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    if (in_) std::fclose(in_);
    if (out_) std::fclose(out_);
    if (pid_ > 0) {
      if (!exited_) kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

  const std::string& name() const { return name_; }

  // The next line the worker prints, which must start with `word`.
  std::vector<std::string> expect(const std::string& word) {
    std::string line;
    for (int c; (c = std::fgetc(out_)) != EOF && c != '\n';) line += static_cast<char>(c);
    std::istringstream words(line);
    std::vector<std::string> v;
    for (std::string w; words >> w;) v.push_back(w);
    if (v.empty() || v[0] != word)
      throw Error(fmt::format("bench: {} failed (expected '{}', got '{}'); its log {}:{}", name_, word, line,
                              log_.string(), tail_of(log_)));
    v.erase(v.begin());
    return v;
  }

  std::vector<std::string> request(const std::string& command, const std::string& word) {
    std::fprintf(in_, "%s\n", command.c_str());
    std::fflush(in_);
    return expect(word);
  }

  std::vector<double> time(int iterations) {
    std::vector<double> t;
    for (const std::string& s : request(fmt::format("time {}", iterations), "times"))
      t.push_back(std::stod(s));
    return t;
  }

  // Peak resident memory in bytes; the worker exits.
  double quit() {
    auto v = request("quit", "rss");
    waitpid(pid_, nullptr, 0);
    exited_ = true;
    return v.empty() ? 0.0 : 1024.0 * std::stod(v[0]);
  }

 private:
  std::string name_;
  fs::path log_;
  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
  bool exited_ = false;
};

std::string run_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    if (pclose(p) != 0) return "";
  }
  return out;
}

std::vector<float> read_floats(const fs::path& p, std::size_t n) {
  std::vector<float> v(n);
  std::ifstream in(p, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float))))
    throw Error(fmt::format("bench: cannot read {} floats from {}", n, p.string()));
  return v;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  Args args(argv,
            {"--batch", "--threads", "--input", "--classes", "--vs", "--rounds", "--iterations", "--warmup",
             "--schedule", "--report"},
            {"--per-layer", "--verbose"});
  if (args.help()) {
    std::cout << kUsage;
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);  // a runner that dies shows as an error on its pipe, with its log
  dsl::Network net = network_from(args, "bench");
  Lowered lowered = lower(net);
  const int batch = args.get("--batch") ? parse_int(*args.get("--batch"), "--batch", 1, 1 << 16) : 1;
  const int threads = args.get("--threads")
                          ? parse_int(*args.get("--threads"), "--threads", 1, 1024)
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int rounds = args.get("--rounds") ? parse_int(*args.get("--rounds"), "--rounds", 1, 10000) : 7;
  const int warmup = args.get("--warmup") ? parse_int(*args.get("--warmup"), "--warmup", 0, 10000) : 5;
  const int fixed_iterations =
      args.get("--iterations") ? parse_int(*args.get("--iterations"), "--iterations", 1, 100000) : 0;
  const bool per_layer = args.has("--per-layer");

  // The peers, in the order of a round.
  std::vector<std::string> peers;
  if (auto vs = args.get("--vs")) {
    std::string item;
    std::istringstream list(*vs);
    while (std::getline(list, item, ',')) {
      std::vector<std::string> names;
      if (item == "torch")
        names = {"torch-eager", "torch-jit"};
      else if (item == "ort" || item == "torch-eager" || item == "torch-jit")
        names = {item};
      else
        throw Error("--vs: unknown peer '" + item + "' (ort, torch, torch-eager, torch-jit)");
      for (const std::string& n : names)
        if (std::find(peers.begin(), peers.end(), n) == peers.end()) peers.push_back(n);
    }
    std::stable_sort(peers.begin(), peers.end(), [](const std::string& a, const std::string& b) {
      return (a == "ort" ? 0 : a == "torch-eager" ? 1 : 2) < (b == "ort" ? 0 : b == "torch-eager" ? 1 : 2);
    });
  }

  fs::path source = RESGEN_SOURCE_DIR;
  if (const char* s = std::getenv("RESGEN_SOURCE_DIR"); s && *s) source = s;
  fs::path peers_py = source / "benchmarks" / "peers.py", runner_c = source / "benchmarks" / "bench_runner.c",
           fma_c = source / "benchmarks" / "peak_fma.c";
  for (const fs::path& p : {peers_py, runner_c, fma_c})
    if (!fs::exists(p))
      throw Error("bench needs " + p.string() + " (set RESGEN_SOURCE_DIR to resgen's source folder)");
  std::string torch_python = "/usr/bin/python3";
  if (const char* p = std::getenv("RESGEN_TORCH_PYTHON"); p && *p) torch_python = p;
  std::string ort_python = (source / ".venv-ort" / "bin" / "python").string();
  if (const char* p = std::getenv("RESGEN_ORT_PYTHON"); p && *p) ort_python = p;
  if (std::find(peers.begin(), peers.end(), "ort") != peers.end() &&
      std::system(fmt::format("{} -c 'import onnxruntime' >/dev/null 2>&1", quote(ort_python)).c_str()) !=
          0) {
    std::cerr << "warning: skipping ort: " << ort_python
              << " cannot import onnxruntime (run tools/setup_bench.sh, or set RESGEN_ORT_PYTHON)\n";
    peers.erase(std::find(peers.begin(), peers.end(), "ort"));
  }

  const dsl::Shape in = lowered.input;
  const int classes = lowered.classes;
  const std::string shape = dsl::to_string(in).str();
  fs::path work = cache_root() / "bench" / fmt::format("{}-{}-k{}", lowered.network, shape, classes);
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) throw Error(fmt::format("cannot create {}: {}", work.string(), ec.message()));
  const std::string tag = fmt::format("b{}-t{}", batch, threads);

  // Weights, input, ONNX model (once per network and shape).
  bool want_onnx = std::find(peers.begin(), peers.end(), "ort") != peers.end();
  std::string prepare =
      fmt::format("{} {} prepare {} --dir {} --input {} --classes {} --batch {}{} > {} 2>&1",
                  quote(torch_python), quote(peers_py.string()), lowered.network, quote(work.string()), shape,
                  classes, batch, want_onnx ? " --onnx" : "", quote((work / "prepare.log").string()));
  if (std::system(prepare.c_str()) != 0)
    throw Error("bench: preparing the weights with PyTorch failed (" + torch_python +
                "; needs python3-torch):" + tail_of(work / "prepare.log"));

  // The resgen runner and the peak kernel, named by their sources so an edit rebuilds them.
  auto source_hash = [](const fs::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return fmt::format("{:016x}", std::hash<std::string>{}(s.str()));
  };
  const char* cc_env = std::getenv("CC");
  std::string cc = cc_env && *cc_env ? cc_env : "cc";
  GenerateOptions o;
  o.target = host_target();
  o.schedule = args.get("--schedule").value_or("manual");
  fs::path runner = cached_program(
      lowered, o, args.has("--verbose"), "bench_runner-" + source_hash(runner_c),
      [&](const fs::path& dir, const fs::path& out) {
        return fmt::format(
            "{} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -DRG_NET={} '-DRG_HEADER=\"{}.h\"' "
            "-I{} {} {} -lstdc++ -lm -lpthread -ldl -o {}",
            cc, lowered.network, lowered.network, quote(dir.string()), quote(runner_c.string()),
            quote((dir / ("lib" + lowered.network + ".a")).string()), quote(out.string()));
      });
  fs::path fma = cache_root() / "bench" / ("peak_fma-" + source_hash(fma_c));
  if (!fs::exists(fma)) {
    std::string cmd = fmt::format("{} -O2 -march=native -pthread {} -o {}.tmp 2>&1", cc,
                                  quote(fma_c.string()), quote(fma.string()));
    if (std::system(cmd.c_str()) != 0) throw Error("bench: building the peak kernel failed: " + cmd);
    fs::rename(fma.string() + ".tmp", fma);
  }
  auto measure_peak = [&] {
    std::string out = run_output(fmt::format("{} {} 0.1 2>/dev/null", quote(fma.string()), threads));
    if (out.empty()) throw Error("bench: the peak kernel " + fma.string() + " failed");
    return std::stod(out);
  };
  // With 2 or more threads, the round trip of a cache line between two processors, sampled with
  // the peak: on a virtual machine whose processors move between one die and two it tells the
  // states apart (README "Figures").
  std::vector<double> round_trips;
  auto sample_round_trip = [&] {
    if (threads < 2) return;
    std::string out = run_output(fmt::format("{} --round-trip 2>/dev/null", quote(fma.string())));
    if (!out.empty() && std::stod(out) > 0) round_trips.push_back(std::stod(out));
  };

  // Start every runner (one at a time, so that loading does not overlap the others' warm-up).
  std::vector<std::unique_ptr<Worker>> workers;
  double arena_bytes = 0;  // the activation memory the library plans for the batch, as its runner says
  std::vector<std::string> names = {"resgen"};
  names.insert(names.end(), peers.begin(), peers.end());
  auto out_of = [&](const std::string& n) { return work / fmt::format("out-{}-{}.bin", n, tag); };
  for (const std::string& n : names) {
    std::vector<std::string> cmd;
    if (n == "resgen") {
      cmd = {runner.string(),
             (work / "weights.safetensors").string(),
             (work / fmt::format("input-b{}.bin", batch)).string(),
             std::to_string(batch),
             std::to_string(threads),
             out_of(n).string(),
             std::to_string(warmup)};
    } else {
      cmd = {n == "ort" ? ort_python : torch_python,
             peers_py.string(),
             "worker",
             n,
             "--dir",
             work.string(),
             "--net",
             lowered.network,
             "--input",
             shape,
             "--classes",
             std::to_string(classes),
             "--batch",
             std::to_string(batch),
             "--threads",
             std::to_string(threads),
             "--out",
             out_of(n).string(),
             "--warmup",
             std::to_string(warmup)};
    }
    fs::remove(out_of(n), ec);
    // libgomp's threads spin while they wait, which on a machine whose cores are shared makes
    // PyTorch's parallel loops wait for descheduled threads: they sleep instead, unless the
    // caller's environment says otherwise.
    std::vector<std::string> env;
    if (n != "resgen" && n != "ort") env.push_back("OMP_WAIT_POLICY=PASSIVE");
    workers.push_back(std::make_unique<Worker>(n, cmd, env, work / fmt::format("{}-{}.log", n, tag)));
    std::vector<std::string> ready = workers.back()->expect("ready");
    if (n == "resgen" && !ready.empty()) arena_bytes = std::stod(ready[0]);
  }

  // Agreement with PyTorch before any timing.
  const std::size_t out_n = static_cast<std::size_t>(batch) * classes;
  std::vector<float> ref = read_floats(work / fmt::format("reference-b{}.bin", batch), out_n);
  std::string agreement;
  bool all_agree = true;
  for (const std::string& n : names) {
    Agreement a = agree(read_floats(out_of(n), out_n), ref, batch, classes);
    agreement += fmt::format("{}{} {:.1e}{}", agreement.empty() ? "" : ", ", n, a.max_diff,
                             a.ok()                ? " ok"
                             : a.argmax_mismatches ? fmt::format(" DIFFERS ({} argmax)", a.argmax_mismatches)
                                                   : " DIFFERS");
    if (!a.ok()) all_agree = false;
  }
  double tolerance = agree(ref, ref, batch, classes).tolerance;
  if (!all_agree)
    throw Error(fmt::format("bench: the runners disagree with PyTorch (max |y - ref|, tolerance {:.1e}): {}",
                            tolerance, agreement));

  double peak = measure_peak();
  sample_round_trip();
  // Runs per round: --iterations, or about 0.25 s of each runner.
  std::map<std::string, int> iterations;
  for (auto& w : workers)
    iterations[w->name()] =
        fixed_iterations ? fixed_iterations
                         : static_cast<int>(std::clamp(0.25 / std::max(w->time(1)[0], 1e-6), 2.0, 200.0));
  std::map<std::string, std::vector<double>> times;
  std::vector<double> layer_seconds(lowered.layers.size(), 0.0);
  int profiled = 0;
  for (int r = 0; r < rounds; ++r) {
    for (auto& w : workers) {
      auto t = w->time(iterations[w->name()]);
      times[w->name()].insert(times[w->name()].end(), t.begin(), t.end());
      if (per_layer && w->name() == "resgen") {  // profiled in the rounds too, under the same load
        int k = std::max(1, iterations["resgen"] / 2);
        auto v = w->request(fmt::format("profile {} {}", k, lowered.layers.size()), "layers");
        for (std::size_t i = 0; i < v.size() && i < layer_seconds.size(); ++i)
          layer_seconds[i] += k * std::stod(v[i]);
        profiled += k;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // let spinning pool threads sleep
    }
    peak = std::max(peak, measure_peak());  // the best of many short samples: load elsewhere lowers some
    sample_round_trip();
  }
  for (double& s : layer_seconds) s /= std::max(profiled, 1);
  std::map<std::string, double> rss;
  for (auto& w : workers) rss[w->name()] = w->quit();

  // The report.
  double flops = 0;
  for (const Layer& l : lowered.layers) flops += layer_flops(l);
  flops *= batch;
  std::string runs;
  for (const std::string& n : names)
    runs += fmt::format("{}{} {}", runs.empty() ? "" : ", ", n, iterations[n]);
  std::cout << fmt::format(
      "resgen bench {}: input {}, batch {}, {} threads; {} rounds interleaved after {} warm-up runs; "
      "runs per round: {}\n",
      lowered.network, shape, batch, threads, rounds, warmup, runs);
  std::cout << fmt::format(
      "  work: {:.3f} GFLOP per batch; fp32 peak of this machine on {} threads: {:.1f} GFLOP/s (FMA kernel, "
      "this run)\n",
      flops / 1e9, threads, peak);
  if (!round_trips.empty()) {
    std::sort(round_trips.begin(), round_trips.end());
    std::cout << fmt::format("  round trip of a cache line between two processors: median {:.0f} ns ({:.0f} to {:.0f} "
                             "over {} samples)\n",
                             round_trips[round_trips.size() / 2], round_trips.front(), round_trips.back(),
                             round_trips.size());
  }
  std::cout << fmt::format("  agreement with PyTorch eager, max |y - ref| (tolerance {:.1e}): {}\n",
                           tolerance, agreement);
  if (peers.size() > static_cast<std::size_t>(std::count(peers.begin(), peers.end(), "ort")))
    std::cout << fmt::format(
        "  PyTorch's OpenMP threads: OMP_WAIT_POLICY={}\n",
        std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : "PASSIVE (set by bench)");
  std::cout << fmt::format("\n{:<12} {:>10} {:>10} {:>10} {:>9} {:>7} {:>10}\n", "runner", "median ms",
                           "min ms", "images/s", "GFLOP/s", "% peak", "peak RSS");
  std::map<std::string, double> med;
  for (const std::string& n : names) {
    const std::vector<double>& t = times[n];
    med[n] = median(t);
    double gflops = flops / med[n] / 1e9;
    std::cout << fmt::format("{:<12} {:>10.2f} {:>10.2f} {:>10.1f} {:>9.1f} {:>6.1f}% {:>6.1f} MiB\n", n,
                             1e3 * med[n], 1e3 * *std::min_element(t.begin(), t.end()), batch / med[n],
                             gflops, 100 * gflops / peak, rss[n] / (1 << 20));
  }
  for (const std::string& n : peers)
    std::cout << fmt::format("ratio resgen/{}: {:.2f}x\n", n, med["resgen"] / med[n]);
  double weights_bytes = 4.0 * static_cast<double>(lowered.packed_floats);
  double bound = weights_bytes + arena_bytes + 30.0 * (1 << 20);
  std::cout << fmt::format(
      "memory: resgen peak RSS {:.1f} MiB, {} weights {:.1f} MiB + activations {:.1f} MiB + 30 MiB = {:.1f} "
      "MiB",
      rss["resgen"] / (1 << 20), rss["resgen"] <= bound ? "within" : "OVER", weights_bytes / (1 << 20),
      arena_bytes / (1 << 20), bound / (1 << 20));
  if (rss.count("ort"))
    std::cout << fmt::format("; ort {:.1f} MiB (a Python process)", rss["ort"] / (1 << 20));
  std::cout << "\n";

  if (per_layer) {
    double total = 0;
    std::vector<PipelineTime> rows = per_pipeline(lowered, layer_seconds, batch, &total);
    print_per_pipeline(std::cout, rows, total, peak, profiled);
    fs::path svg = args.get("--report").value_or((work / fmt::format("layers-{}.svg", tag)).string());
    write_svg(svg,
              fmt::format("resgen bench {} {} batch {}, {} threads: {:.2f} ms per run (sum of layers)",
                          lowered.network, shape, batch, threads, 1e3 * total),
              rows, total, peak);
    std::cout << "chart: " << svg.string() << "\n";
  }
  return 0;
}

}  // namespace resgen::cli
