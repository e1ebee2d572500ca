// Unit tests for generator/runtime/pool.inc, the thread pool of generated libraries: every task
// runs once, errors come back, nested and concurrent loops, the thread count, and the hook into
// Halide. The Halide runtime functions that the pool calls are stubs here.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "generator/runtime/pool.inc"

namespace {

std::atomic<int> default_calls{0};
halide_do_par_for_t hook = nullptr;
std::atomic<int> halide_threads{2};

}  // namespace

extern "C" int halide_default_do_par_for(void* user_context, halide_task_t f, int min, int size, uint8_t* closure) {
  ++default_calls;
  for (int i = 0; i < size; ++i)
    if (int e = f(user_context, min + i, closure)) return e;
  return 0;
}

extern "C" int halide_get_num_threads() { return halide_threads.load(); }

extern "C" halide_do_par_for_t halide_set_custom_do_par_for(halide_do_par_for_t f) {
  halide_do_par_for_t old = hook;
  hook = f;
  return old;
}

namespace {

namespace pool = rg_pool;

// Counts runs of each task; a task's index comes with the loop's min.
struct Counts {
  std::vector<std::atomic<int>> runs;
  int min;
  explicit Counts(int size, int min_ = 0) : runs(size), min(min_) {}
  static int task(void* counts, int index, uint8_t*) {
    auto* c = static_cast<Counts*>(counts);
    c->runs[index - c->min].fetch_add(1);
    return 0;
  }
  bool each_once() const {
    for (const auto& r : runs)
      if (r.load() != 1) return false;
    return true;
  }
};

TEST_CASE("every task of a loop runs exactly once, at any thread count and size") {
  for (int threads : {1, 2, 3, 4}) {
    halide_threads = threads;
    for (int size : {1, 2, 3, 17, 1000}) {
      Counts c(size, 5);
      CHECK(pool::par_for(&c, Counts::task, 5, size, nullptr) == 0);
      CHECK_MESSAGE(c.each_once(), "threads ", threads, ", size ", size);
    }
  }
  CHECK(pool::pool.started >= 3);  // workers for 4 threads were started
}

TEST_CASE("each thread starts on its own range of a loop's tasks") {
  CHECK(pool::range_begin(10, 3, 0) == 0);
  CHECK(pool::range_begin(10, 3, 1) == 3);
  CHECK(pool::range_begin(10, 3, 2) == 6);
  CHECK(pool::range_begin(10, 3, 3) == 10);
  halide_threads = 2;
  // Tasks of 1 ms: the worker wakes long before the calling thread could reach its range.
  struct Order {
    std::mutex lock;
    std::vector<std::pair<int, std::thread::id>> started;
    static int task(void* self, int index, uint8_t*) {
      auto* o = static_cast<Order*>(self);
      {
        std::lock_guard<std::mutex> g(o->lock);
        o->started.emplace_back(index, std::this_thread::get_id());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return 0;
    }
  } o;
  CHECK(pool::par_for(&o, Order::task, 0, 64, nullptr) == 0);
  REQUIRE(o.started.size() == 64);
  const std::thread::id caller = std::this_thread::get_id();
  int worker_first = -1, caller_last = -1;
  for (const auto& [index, id] : o.started) {
    if (index == 0) CHECK(id == caller);
    if (id != caller && worker_first < 0) worker_first = index;
    if (id == caller) {
      CHECK(index > caller_last);  // in order within its range
      caller_last = index;
    }
  }
  CHECK(worker_first == 32);
}

TEST_CASE("a thread whose range is done takes the tasks left in another's") {
  halide_threads = 2;
  // Task 0, the calling thread's first, returns only once every other task has run: the worker
  // must run the rest of the caller's range too.
  struct Stuck {
    std::atomic<int> others{0};
    static int task(void* self, int index, uint8_t*) {
      auto* s = static_cast<Stuck*>(self);
      if (index != 0) return s->others++, 0;
      for (int waited = 0; s->others.load() < 63; ++waited) {
        if (waited > 10000) return 1;  // 10 s: no one took the caller's range
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      return 0;
    }
  } s;
  CHECK(pool::par_for(&s, Stuck::task, 0, 64, nullptr) == 0);
  CHECK(s.others.load() == 63);
}

TEST_CASE("a failing task's status comes back, and the other tasks still run") {
  halide_threads = 2;
  struct Failing {
    std::atomic<int> ran{0};
    static int task(void* self, int index, uint8_t*) {
      static_cast<Failing*>(self)->ran++;
      return index == 7 ? -7 : 0;
    }
  } f;
  CHECK(pool::par_for(&f, Failing::task, 0, 64, nullptr) == -7);
  CHECK(f.ran.load() == 64);
  Counts c(64);  // the pool is free for the next loop
  CHECK(pool::par_for(&c, Counts::task, 0, 64, nullptr) == 0);
  CHECK(c.each_once());
}

TEST_CASE("a loop inside a task runs in that task's thread") {
  halide_threads = 2;
  struct Nested {
    std::vector<Counts> inner;
    Nested() {
      for (int i = 0; i < 16; ++i) inner.emplace_back(8);
    }
    static int task(void* self, int index, uint8_t*) {
      auto* n = static_cast<Nested*>(self);
      int before = default_calls.load();
      int e = pool::par_for(&n->inner[index], Counts::task, 0, 8, nullptr);
      // Serial in this thread: neither the pool (it is busy with this loop) nor Halide's.
      return e ? e : default_calls.load() != before ? 1 : 0;
    }
  } n;
  CHECK(pool::par_for(&n, Nested::task, 0, 16, nullptr) == 0);
  for (const Counts& c : n.inner) CHECK(c.each_once());
}

TEST_CASE("loops from several threads at once: the pool's owner runs on it, the others on Halide's") {
  halide_threads = 2;
  constexpr int kCallers = 4, kLoops = 200, kSize = 32;
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kCallers; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < kLoops; ++i) {
        Counts c(kSize);
        if (pool::par_for(&c, Counts::task, 0, kSize, nullptr) != 0 || !c.each_once()) wrong++;
      }
    });
  for (std::thread& t : callers) t.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("after the thread count is lowered, only that many threads run a loop's tasks") {
  halide_threads = 4;
  Counts warm(64);
  CHECK(pool::par_for(&warm, Counts::task, 0, 64, nullptr) == 0);  // starts 3 workers
  halide_threads = 2;
  struct Threads {
    std::mutex lock;
    std::set<std::thread::id> ids;
    static int task(void* self, int, uint8_t*) {
      auto* t = static_cast<Threads*>(self);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::lock_guard<std::mutex> g(t->lock);
      t->ids.insert(std::this_thread::get_id());
      return 0;
    }
  };
  for (int round = 0; round < 20; ++round) {
    Threads t;
    CHECK(pool::par_for(&t, Threads::task, 0, 32, nullptr) == 0);
    CHECK(t.ids.size() <= 2);
  }
}

TEST_CASE("a forked child runs its loops on Halide's pool: the workers stayed in the parent") {
  halide_threads = 2;
  Counts warm(16);
  CHECK(pool::par_for(&warm, Counts::task, 0, 16, nullptr) == 0);  // workers started
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int before = default_calls.load();
    Counts c(64);
    bool ok = pool::par_for(&c, Counts::task, 0, 64, nullptr) == 0 && c.each_once() && default_calls.load() == before + 1;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  int before = default_calls.load();  // the parent keeps its own pool
  Counts c(64);
  CHECK(pool::par_for(&c, Counts::task, 0, 64, nullptr) == 0);
  CHECK(c.each_once());
  CHECK(default_calls.load() == before);
}

TEST_CASE("a run installs the pool as Halide's parallel loop, or leaves Halide's with RESGEN_THREAD_POOL=halide") {
  pool::run_begin();
  CHECK((hook == &pool::par_for));
  CHECK(pool::pool.runs.load() == 1);
  pool::run_end();
  setenv("RESGEN_THREAD_POOL", "halide", 1);
  pool::run_begin();
  CHECK((hook == &halide_default_do_par_for));
  pool::run_end();
  unsetenv("RESGEN_THREAD_POOL");
  pool::run_begin();
  CHECK((hook == &pool::par_for));
  pool::run_end();
  CHECK(pool::pool.runs.load() == 0);
}

}  // namespace
