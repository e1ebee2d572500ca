// Reliability checks of a generated library through its C API, built by tools/ci_reliability.sh
// against lib<NET>.a with -DRG_NET=<net> -DRG_HEADER="<net>.h" (plain, under ThreadSanitizer, or
// run under Valgrind). Inputs are raw little-endian float32 files written by check_reliability.py.
//
//   stress concurrency WEIGHTS INPUTS D THREADS CALLS BASELINE_OUT
//       D images in INPUTS. Single-threaded (one Halide thread), every (start, batch) window the
//       threads will use is run once: the baseline. Batch-1 baselines go to BASELINE_OUT (for the
//       PyTorch comparison). Then THREADS threads share ONE model and make CALLS runs in total
//       (batch 1..3, different inputs, Halide's default thread count), and then THREADS threads
//       each with their OWN model do the same; every output must equal its baseline bit for bit.
//       Each thread also checks that an error it causes lands in its own last_error.
//   stress lifecycle WEIGHTS INPUTS D
//       create / run / destroy and every error path of the API (for Valgrind and LeakSanitizer).
//   stress oom WEIGHTS INPUTS D
//       a run whose activation arena cannot be allocated (address space limited with
//       setrlimit) must return ERR_MEMORY and leave the model usable. Not under sanitizers.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include RG_HEADER

#define RG_CAT2(a, b) a##_##b
#define RG_CAT(a, b) RG_CAT2(a, b)
#define RG(name) RG_CAT(RG_NET, name)

#if defined(__SANITIZE_THREAD__)
// Halide's tsan feature instruments the kernels with calls to __tsan_memcpy/__tsan_memset, which
// the ThreadSanitizer runtimes of GCC 12 and clang 14 do not define yet (LLVM 15 added them):
// forward them to memcpy/memset, whose ThreadSanitizer interceptors check both ranges.
extern "C" void* __tsan_memcpy(void* dst, const void* src, size_t n) { return memcpy(dst, src, n); }
extern "C" void* __tsan_memset(void* dst, int c, size_t n) { return memset(dst, c, n); }
extern "C" void* __tsan_memmove(void* dst, const void* src, size_t n) { return memmove(dst, src, n); }
#endif

namespace {

int g_c, g_h, g_w, g_k;
int64_t g_per_in;

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "FAIL: %s\n", what.c_str());
  exit(1);
}

void expect(bool ok, const std::string& what) {
  if (!ok) die(what);
}

std::vector<float> read_floats(const char* path, size_t count) {
  std::vector<float> v(count);
  FILE* f = fopen(path, "rb");
  if (!f || fread(v.data(), sizeof(float), count, f) != count) die(std::string("cannot read ") + path);
  fclose(f);
  return v;
}

RG(model) * create(const char* weights) {
  RG(model)* m = nullptr;
  if (RG(create_from_file)(weights, 0, &m) != 0) die(std::string("create: ") + RG(last_error)());
  return m;
}

// The window of call i: start image and batch (1..3), always inside the D images.
struct Window {
  int start, batch;
};
Window window(int64_t i, int d) {
  int batch = 1 + (int)(i % 3);
  return {(int)((i * 7 + i / 3) % (d - batch + 1)), batch};
}

int concurrency(const char* weights, const char* inputs, int d, int threads, int64_t calls, const char* base_out) {
  std::vector<float> x = read_floats(inputs, (size_t)(d * g_per_in));
  RG(model)* shared = create(weights);
  // baseline[start][batch - 1]: one Halide thread, one caller.
  expect(RG(set_num_threads)(1) == 0, "set_num_threads(1)");
  std::vector<std::vector<float>> base((size_t)d * 3);
  for (int s = 0; s < d; ++s)
    for (int b = 1; b <= 3 && s + b <= d; ++b) {
      std::vector<float>& y = base[(size_t)s * 3 + b - 1];
      y.assign((size_t)(b * g_k), 0.f);
      if (RG(run)(shared, b, &x[(size_t)(s * g_per_in)], (size_t)(b * g_per_in), y.data(), y.size()) != 0)
        die(std::string("baseline run: ") + RG(last_error)());
    }
  FILE* f = fopen(base_out, "wb");
  for (int s = 0; s < d; ++s) expect(f && fwrite(base[(size_t)s * 3].data(), 4, (size_t)g_k, f) == (size_t)g_k, "write");
  expect(f && fclose(f) == 0, "write baseline");
  // Batch invariance: image s of a batch-3 run against its batch-1 run (reported, not required).
  int batch_variant = 0;
  for (int s = 0; s + 3 <= d; ++s)
    for (int j = 0; j < 3; ++j)
      batch_variant += memcmp(&base[(size_t)s * 3 + 2][(size_t)(j * g_k)], base[(size_t)(s + j) * 3].data(), 4 * (size_t)g_k) != 0;
  printf("batch invariance: %d of %d images differ between batch 3 and batch 1\n", batch_variant, 3 * (d - 2));

  expect(RG(set_num_threads)(threads) == 0, "set_num_threads");
  for (int mode = 0; mode < 2; ++mode) {  // 0: one shared model, 1: a model per thread
    std::atomic<int64_t> mismatches{0}, failures{0}, next{0};
    auto work = [&](int t) {
      RG(model)* m = mode == 0 ? shared : create(weights);
      std::vector<float> y(3 * (size_t)g_k);
      for (int64_t i; (i = next.fetch_add(1)) < calls;) {
        Window w = window(i, d);
        size_t n = (size_t)(w.batch * g_k);
        if (RG(run)(m, w.batch, &x[(size_t)(w.start * g_per_in)], (size_t)(w.batch * g_per_in), y.data(), n) != 0) {
          fprintf(stderr, "thread %d call %lld: %s\n", t, (long long)i, RG(last_error)());
          failures++;
          continue;
        }
        if (memcmp(y.data(), base[(size_t)w.start * 3 + w.batch - 1].data(), 4 * n) != 0) mismatches++;
        if (i % 97 == 0) {  // an error of this thread's own: its last_error, no other's
          std::string want = "batch " + std::to_string(t + 2);
          if (RG(run)(m, t + 2, x.data(), 1, y.data(), 1) != 1 || !strstr(RG(last_error)(), want.c_str()))
            failures++;
        }
      }
      if (mode == 1) RG(destroy)(m);
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
    for (std::thread& t : pool) t.join();
    printf("%s: %d threads, %lld calls, %lld mismatches, %lld failures\n",
           mode == 0 ? "one shared model" : "a model per thread", threads, (long long)calls,
           (long long)mismatches.load(), (long long)failures.load());
    if (mismatches || failures) return 1;
  }
  RG(destroy)(shared);
  return 0;
}

// Every status of the API, each with its message; nothing may leak on any path.
int lifecycle(const char* weights, const char* inputs, int d) {
  std::vector<float> x = read_floats(inputs, (size_t)(d * g_per_in)), y((size_t)(d * g_k));
  RG(model)* m = nullptr;
  expect(RG(create_from_file)("/nonexistent/w.safetensors", 0, &m) == 2 && !m, "missing file is ERR_IO");
  expect(strstr(RG(last_error)(), "/nonexistent/w.safetensors") != nullptr, "missing file is named");
  expect(RG(create_from_file)(inputs, 0, &m) == 3 && !m, "a non-safetensors file is ERR_WEIGHTS");
  const char junk[] = "\x10\0\0\0\0\0\0\0{\"a\":{\"dtype\":1}}";
  expect(RG(create_from_memory)(junk, sizeof junk - 1, 0, &m) == 3 && !m, "junk is ERR_WEIGHTS");
  expect(RG(create_from_memory)(nullptr, 8, 0, &m) == 1, "NULL data is ERR_ARGUMENT");
  expect(RG(create_from_file)(weights, 0, nullptr) == 1, "NULL out is ERR_ARGUMENT");
  expect(RG(create)(&m) == 6 || (m && (RG(destroy)(m), m = nullptr, true)), "create without embedded weights");
  // A file whose data is cut short: every key but the last is complete.
  FILE* f = fopen(weights, "rb");
  std::vector<char> bytes;
  if (f) {
    char buf[65536];
    for (size_t got; (got = fread(buf, 1, sizeof buf, f)) > 0;) bytes.insert(bytes.end(), buf, buf + got);
    fclose(f);
  }
  expect(bytes.size() > 1000, "read the weights");
  expect(RG(create_from_memory)(bytes.data(), bytes.size() - 4, 0, &m) == 3 && !m, "truncated weights");
  expect(RG(create_from_memory)(bytes.data(), bytes.size(), 0, &m) == 0 && m, "create_from_memory");
  RG(destroy)(m);
  m = create(weights);
  expect(RG(run)(m, 0, x.data(), 0, y.data(), 0) == 1, "batch 0 is ERR_ARGUMENT");
  expect(RG(run)(m, 1, nullptr, (size_t)g_per_in, y.data(), (size_t)g_k) == 1, "NULL input");
  expect(RG(run)(m, 1, x.data(), (size_t)g_per_in - 1, y.data(), (size_t)g_k) == 1, "short input");
  expect(RG(run)(m, INT64_MAX / 2, x.data(), 1, y.data(), 1) == 1, "a batch whose sizes overflow");
  expect(RG(run)(nullptr, 1, x.data(), (size_t)g_per_in, y.data(), (size_t)g_k) == 1, "NULL model");
  expect(RG(set_num_threads)(0) == 1, "0 threads is ERR_ARGUMENT");
  size_t bytes1 = 0;
  expect(RG(activation_bytes)(1, &bytes1) == 0 && bytes1 > 0, "activation_bytes");
  expect(RG(activation_bytes)(0, &bytes1) == 1, "activation_bytes(0)");
  for (int b = 1; b <= d; b += d - 1)  // batch 1, then the whole batch (the arena grows)
    expect(RG(run)(m, b, x.data(), (size_t)(b * g_per_in), y.data(), (size_t)(b * g_k)) == 0,
           std::string("run: ") + RG(last_error)());
  RG(destroy)(m);
  RG(destroy)(nullptr);
  printf("lifecycle: every error path returned its status; create, run (batch 1 and %d), destroy ok\n", d);
  return 0;
}

int oom(const char* weights, const char* inputs, int d) {
  // A batch of 64 and the arena the library plans for it (the images it runs at once).
  int64_t batch = 64;
  size_t arena = 0;
  expect(RG(activation_bytes)(batch, &arena) == 0 && arena > 0, "activation_bytes");
  std::vector<float> x0 = read_floats(inputs, (size_t)(d * g_per_in));
  std::vector<float> x((size_t)(batch * g_per_in)), y((size_t)(batch * g_k));
  for (int64_t i = 0; i < batch; ++i) memcpy(&x[(size_t)(i * g_per_in)], &x0[(size_t)((i % d) * g_per_in)], 4 * (size_t)g_per_in);
  RG(model)* m = create(weights);
  expect(RG(run)(m, 1, x.data(), (size_t)g_per_in, y.data(), (size_t)g_k) == 0, "a batch-1 run");
  std::vector<float> y1(y.begin(), y.begin() + g_k);
  struct rlimit old, lim;
  getrlimit(RLIMIT_AS, &old);
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  expect(f && fscanf(f, "%lu", &pages) == 1, "statm");
  fclose(f);
  lim = old;
  lim.rlim_cur = (rlim_t)pages * 4096 + arena / 2;  // half the arena of address space left: too little
  expect(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit");
  int s = RG(run)(m, batch, x.data(), x.size(), y.data(), y.size());
  std::string msg = RG(last_error)();
  expect(setrlimit(RLIMIT_AS, &old) == 0, "restore rlimit");
  printf("oom: batch %lld (arena %.1f MiB) with half that of address space left: status %d (%s)\n", (long long)batch,
         (double)arena / (1 << 20), s, msg.c_str());
  expect(s == 4, "a failed arena allocation is ERR_MEMORY");
  expect(RG(run)(m, 1, x.data(), (size_t)g_per_in, y.data(), (size_t)g_k) == 0 && memcmp(y.data(), y1.data(), 4 * (size_t)g_k) == 0,
         "the model still runs after ERR_MEMORY, same answer");
  RG(destroy)(m);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  RG(input_shape)(&g_c, &g_h, &g_w);
  RG(output_shape)(&g_k);
  g_per_in = (int64_t)g_c * g_h * g_w;
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "concurrency" && argc == 8)
    return concurrency(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoll(argv[6]), argv[7]);
  if (mode == "lifecycle" && argc == 5) return lifecycle(argv[2], argv[3], atoi(argv[4]));
  if (mode == "oom" && argc == 5) return oom(argv[2], argv[3], atoi(argv[4]));
  fprintf(stderr, "usage: stress concurrency WEIGHTS INPUTS D THREADS CALLS BASELINE_OUT\n"
                  "       stress lifecycle|oom WEIGHTS INPUTS D\n");
  return 2;
}
