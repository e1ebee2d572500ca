/* This machine's fp32 peak as resgen bench reports it: THREADS threads each run independent
 * chains of fused multiply-adds on the widest vectors the compiler targets (built with
 * -O2 -march=native), for about SECONDS seconds, timing short chunks of work.
 *   peak_fma THREADS [SECONDS]
 * Prints GFLOP/s: the sum over threads of each thread's 90th-percentile chunk rate, best of
 * three trials. Chunks of ~10 us, not the whole interval: on a machine shared with other
 * work, a long interval measures the scheduler's share, while the network's runs (a few ms
 * each) are judged by their median, which mostly misses preemption.
 * 12 chains of vectors hide the FMA latency on current x86 cores (latency 4-5 cycles, two FMA
 * pipes). The vectors are the widest the compiler targets: 16 lanes with AVX-512, else 8 (with
 * only SSE the compiler splits them in two). One FMA counts as 2 FLOPs per lane.
 *   peak_fma --round-trip
 * Prints instead the nanoseconds of one round trip of a cache line between two threads on the
 * first two processors this process may use (a flag each sets in turn; median of 5 trials of up
 * to 20,000 round trips or 50 ms), or -1 where it may use only one: where a virtual
 * machine's two processors sit on one die it is some 80 to 120 ns, on two dies 250 to 450 ns, and
 * then a multithreaded network runs slower (README "Figures"). */
#define _GNU_SOURCE /* CPU affinity, for the round trip */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __AVX512F__
enum { kLanes = 16 };
#else
enum { kLanes = 8 };
#endif
typedef float vec __attribute__((vector_size(kLanes * 4)));

enum { kChains = 12, kInner = 5000, kMaxChunks = 1 << 16 };

typedef struct {
  double seconds;
  double rate; /* 90th-percentile vector FMAs per second over the chunks */
  float sink;
} job;

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void* work(void* arg) {
  job* j = (job*)arg;
  vec a, b;
  for (int l = 0; l < kLanes; ++l) a[l] = 0.9999f - 1e-4f * (float)l, b[l] = 1e-4f * (float)(l + 1);
  /* Twelve named accumulators, so that they live in registers. */
  vec c0 = b, c1 = b * 2, c2 = b * 3, c3 = b * 4, c4 = b * 5, c5 = b * 6;
  vec c6 = b * 7, c7 = b * 8, c8 = b * 9, c9 = b * 10, c10 = b * 11, c11 = b * 12;
  double* rates = malloc(kMaxChunks * sizeof(double));
  int n = 0;
  double t = now(), end = t + j->seconds;
  while (rates && n < kMaxChunks && t < end) {
    for (int i = 0; i < kInner; ++i) {
      c0 = c0 * a + b, c1 = c1 * a + b, c2 = c2 * a + b, c3 = c3 * a + b;
      c4 = c4 * a + b, c5 = c5 * a + b, c6 = c6 * a + b, c7 = c7 * a + b;
      c8 = c8 * a + b, c9 = c9 * a + b, c10 = c10 * a + b, c11 = c11 * a + b;
    }
    double t2 = now();
    rates[n++] = (double)kInner * kChains / (t2 - t);
    t = t2;
  }
  j->rate = 0;
  if (rates && n > 0) {
    qsort(rates, (size_t)n, sizeof(double), by_value);
    j->rate = rates[(int)(0.9 * (n - 1))];
  }
  free(rates);
  vec sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += sum[l];
  j->sink = s;
  return NULL;
}

/* The round trip: one thread sets the flag odd, the other answers even. */
enum { kTrips = 20000 };
static _Alignas(64) atomic_int flag;
static _Atomic int trips_done;

static void wait_for(int value) {
  for (unsigned k = 1; atomic_load_explicit(&flag, memory_order_acquire) != value; ++k)
    if (k % 4096 == 0) sched_yield(); /* one processor: let the other thread run */
}

static cpu_set_t cpu_first, cpu_second;

static void* answer(void* arg) {
  (void)arg;
  pthread_setaffinity_np(pthread_self(), sizeof cpu_second, &cpu_second);
  for (int i = 0;; ++i) {
    wait_for(2 * i + 1);
    int last = atomic_load_explicit(&trips_done, memory_order_relaxed);
    atomic_store_explicit(&flag, 2 * i + 2, memory_order_release);
    if (last) return NULL;
  }
}

static double round_trip_ns(void) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) return -1;
  CPU_ZERO(&cpu_first);
  CPU_ZERO(&cpu_second);
  for (int c = 0, found = 0; c < CPU_SETSIZE && found < 2; ++c)
    if (CPU_ISSET(c, &allowed)) CPU_SET(c, found++ ? &cpu_second : &cpu_first);
  if (pthread_setaffinity_np(pthread_self(), sizeof cpu_first, &cpu_first) != 0) return -1;
  double trials[5];
  for (int trial = 0; trial < 5; ++trial) {
    atomic_store(&flag, 0);
    atomic_store(&trips_done, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, answer, NULL) != 0) return -1;
    double start = now(), end = start + 0.05;
    int i = 0;
    for (;; ++i) {
      if (i + 1 == kTrips || (i % 256 == 255 && now() > end)) atomic_store(&trips_done, 1);
      atomic_store_explicit(&flag, 2 * i + 1, memory_order_release);
      wait_for(2 * i + 2);
      if (atomic_load(&trips_done)) break;
    }
    trials[trial] = 1e9 * (now() - start) / (i + 1);
    pthread_join(t, NULL);
  }
  qsort(trials, 5, sizeof(double), by_value);
  pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
  return trials[2];
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--round-trip") == 0) {
    printf("%.0f\n", round_trip_ns());
    return 0;
  }
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  double seconds = argc > 2 ? atof(argv[2]) : 0.3;
  if (threads < 1 || threads > 1024 || !(seconds > 0)) {
    fprintf(stderr, "usage: peak_fma THREADS [SECONDS] | peak_fma --round-trip\n");
    return 2;
  }
  pthread_t* t = malloc((size_t)threads * sizeof *t);
  job* jobs = calloc((size_t)threads, sizeof *jobs);
  double best = 0, sink = 0;
  for (int trial = 0; trial < 3; ++trial) {
    for (int i = 0; i < threads; ++i) {
      jobs[i].seconds = seconds;
      pthread_create(&t[i], NULL, work, &jobs[i]);
    }
    double rate = 0;
    for (int i = 0; i < threads; ++i) {
      pthread_join(t[i], NULL);
      rate += jobs[i].rate;
      sink += jobs[i].sink;
    }
    double gflops = 2.0 * kLanes * rate / 1e9;
    if (gflops > best) best = gflops;
  }
  printf("%.2f\n", best);
  fprintf(stderr, "(checksum %g)\n", sink);
  free(t), free(jobs);
  return 0;
}
