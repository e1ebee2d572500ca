/* Latency of a generated library: median and min over repeated runs of one batch.
 * Built by benchmarks/latency.sh with -DRG_NET=<net> and -include <net>.h.
 *   latency WEIGHTS BATCH ITERATIONS THREADS [pools]
 * With `pools`: ITERATIONS rounds, each 10 runs (2 at batch > 1) with RESGEN_THREAD_POOL=halide
 * (Halide's thread pool) and then as many with resgen's (generator/runtime/pool.inc); prints
 * both and the ratio of their medians (benchmarks/thread_pool.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RG_CAT2(a, b) a##_##b
#define RG_CAT(a, b) RG_CAT2(a, b)
#define RG(name) RG_CAT(RG_NET, name)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  int pools = argc == 6 && strcmp(argv[5], "pools") == 0;
  if (argc != 5 && !pools) return 2;
  int64_t batch = atoll(argv[2]);
  int iters = atoi(argv[3]), threads = atoi(argv[4]);
  int per_round = pools ? (batch > 1 ? 2 : 10) : iters, rounds = pools ? iters : 1;
  int runs = per_round * rounds;
  int c, h, w, k;
  RG(input_shape)(&c, &h, &w);
  RG(output_shape)(&k);
  size_t in_n = (size_t)(batch * c * h * w), out_n = (size_t)(batch * k);
  float* x = malloc(in_n * sizeof(float));
  float* y = malloc(out_n * sizeof(float));
  double* t[2] = {malloc((size_t)runs * sizeof(double)), malloc((size_t)runs * sizeof(double))};
  for (size_t i = 0; i < in_n; ++i) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  RG(model)* m = NULL;
  if (RG(set_num_threads)(threads) || RG(create_from_file)(argv[1], 0, &m)) {
    fprintf(stderr, "error: %s\n", RG(last_error)());
    return 1;
  }
  for (int i = 0; i < 3; ++i) RG(run)(m, batch, x, in_n, y, out_n);  /* warm-up */
  for (int r = 0; r < rounds; ++r)
    for (int p = pools ? 0 : 1; p < 2; ++p) { /* p = 0: Halide's pool, 1: resgen's */
      if (pools && p == 0) setenv("RESGEN_THREAD_POOL", "halide", 1);
      if (pools && p == 1) unsetenv("RESGEN_THREAD_POOL");
      for (int i = 0; i < per_round; ++i) {
        double s = now();
        if (RG(run)(m, batch, x, in_n, y, out_n)) {
          fprintf(stderr, "error: %s\n", RG(last_error)());
          return 1;
        }
        t[p][r * per_round + i] = 1e3 * (now() - s);
      }
    }
  for (int p = pools ? 0 : 1; p < 2; ++p) qsort(t[p], (size_t)runs, sizeof(double), by_value);
  if (pools) {
    printf("%s batch %lld, %d threads, %d runs each in %d rounds: Halide's pool median %.2f ms (min %.2f, "
           "p90 %.2f), resgen's median %.2f ms (min %.2f, p90 %.2f): ratio resgen/halide %.3f\n",
           RG_NAME, (long long)batch, threads, runs, rounds, t[0][runs / 2], t[0][0], t[0][runs * 9 / 10],
           t[1][runs / 2], t[1][0], t[1][runs * 9 / 10], t[1][runs / 2] / t[0][runs / 2]);
  } else {
    size_t arena = 0;
    RG(activation_bytes)(batch, &arena);
    printf("%s batch %lld, %d threads: median %.2f ms, min %.2f ms over %d runs; activations %.1f MB\n",
           RG_NAME, (long long)batch, threads, t[1][runs / 2], t[1][0], runs, arena / 1e6);
  }
  RG(destroy)(m);
  free(x), free(y), free(t[0]), free(t[1]);
  return 0;
}
