/* Latency of a generated library: median and min over repeated runs of one batch.
 * Built by benchmarks/latency.sh with -DRG_NET=<net> and -include <net>.h.
 *   latency WEIGHTS BATCH ITERATIONS THREADS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
  if (argc != 5) return 2;
  int64_t batch = atoll(argv[2]);
  int iters = atoi(argv[3]), threads = atoi(argv[4]);
  int c, h, w, k;
  RG(input_shape)(&c, &h, &w);
  RG(output_shape)(&k);
  size_t in_n = (size_t)(batch * c * h * w), out_n = (size_t)(batch * k);
  float* x = malloc(in_n * sizeof(float));
  float* y = malloc(out_n * sizeof(float));
  double* t = malloc((size_t)iters * sizeof(double));
  for (size_t i = 0; i < in_n; ++i) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  RG(model)* m = NULL;
  if (RG(set_num_threads)(threads) || RG(create_from_file)(argv[1], 0, &m)) {
    fprintf(stderr, "error: %s\n", RG(last_error)());
    return 1;
  }
  for (int i = 0; i < 3; ++i) RG(run)(m, batch, x, in_n, y, out_n);  /* warm-up */
  for (int i = 0; i < iters; ++i) {
    double s = now();
    if (RG(run)(m, batch, x, in_n, y, out_n)) {
      fprintf(stderr, "error: %s\n", RG(last_error)());
      return 1;
    }
    t[i] = now() - s;
  }
  qsort(t, (size_t)iters, sizeof(double), by_value);
  size_t arena = 0;
  RG(activation_bytes)(batch, &arena);
  printf("%s batch %lld, %d threads: median %.2f ms, min %.2f ms over %d runs; activations %.1f MB\n",
         RG_NAME, (long long)batch, threads, 1e3 * t[iters / 2], 1e3 * t[0], iters, arena / 1e6);
  RG(destroy)(m);
  free(x), free(y), free(t);
  return 0;
}
