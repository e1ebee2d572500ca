/* The resgen side of `resgen bench`: a C program linked against the generated library.
 * Built by resgen bench with -DRG_NET=<net> '-DRG_HEADER="<net>.h"'.
 *   bench_runner WEIGHTS INPUT.bin BATCH THREADS OUTPUT.bin WARMUP
 * INPUT.bin holds BATCH*C*H*W float32 (NCHW). Loads the model, runs once and writes the
 * BATCH*K logits to OUTPUT.bin, runs WARMUP more times, prints "ready ARENA_BYTES" (the
 * activation memory the library plans for BATCH), then answers commands
 * on stdin, one per line (the protocol every bench worker speaks):
 *   time K      -> "times S1 ... SK"       seconds of K runs
 *   profile K L -> "layers S1 ... SL"      each of the L layers' median seconds over K runs
 *   quit        -> "rss KIB"               peak resident memory (getrusage), then exits */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include RG_HEADER

#define RG_CAT2(a, b) a##_##b
#define RG_CAT(a, b) RG_CAT2(a, b)
#define RG(name) RG_CAT(RG_NET, name)

/* In the library, not in its header (generator/runtime/run.inc). */
int RG(run_profiled)(RG(model) * m, int64_t batch, const float* input, size_t input_floats, float* output,
                     size_t output_floats, double* seconds, int num_layers);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static int fail(const char* what, const char* detail) {
  fprintf(stderr, "error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 7) return fail("usage: bench_runner WEIGHTS INPUT.bin BATCH THREADS OUTPUT.bin WARMUP", NULL);
  int64_t batch = atoll(argv[3]);
  int threads = atoi(argv[4]), warmup = atoi(argv[6]);
  if (batch < 1 || threads < 1 || warmup < 0) return fail("bench_runner: bad BATCH, THREADS or WARMUP", NULL);
  int c, h, w, k;
  RG(input_shape)(&c, &h, &w);
  RG(output_shape)(&k);
  size_t in_n = (size_t)batch * c * h * w, out_n = (size_t)batch * k;
  float* x = malloc(in_n * sizeof(float));
  float* y = malloc(out_n * sizeof(float));
  if (!x || !y) return fail("bench_runner: out of memory", NULL);
  FILE* f = fopen(argv[2], "rb");
  if (!f || fread(x, sizeof(float), in_n, f) != in_n) return fail("cannot read the input", argv[2]);
  fclose(f);

  RG(model)* m = NULL;
  if (RG(set_num_threads)(threads) || RG(create_from_file)(argv[1], 0, &m) ||
      RG(run)(m, batch, x, in_n, y, out_n))
    return fail(RG(last_error)(), NULL);
  f = fopen(argv[5], "wb");
  if (!f || fwrite(y, sizeof(float), out_n, f) != out_n || fclose(f) != 0)
    return fail("cannot write the output", argv[5]);
  for (int i = 0; i < warmup; ++i)
    if (RG(run)(m, batch, x, in_n, y, out_n)) return fail(RG(last_error)(), NULL);
  size_t arena = 0;
  RG(activation_bytes)(batch, &arena);
  printf("ready %zu\n", arena);
  fflush(stdout);

  char line[256];
  int layers = 0;
  while (fgets(line, sizeof line, stdin)) {
    int count = 0;
    if (sscanf(line, "time %d", &count) == 1 && count > 0) {
      printf("times");
      for (int i = 0; i < count; ++i) {
        double s = now();
        if (RG(run)(m, batch, x, in_n, y, out_n)) return fail(RG(last_error)(), NULL);
        printf(" %.9f", now() - s);
      }
      printf("\n");
    } else if (sscanf(line, "profile %d %d", &count, &layers) == 2 && count > 0 && layers > 0) {
      /* sec[layer * count + run]; each layer's median over the runs. */
      double* sec = calloc((size_t)layers * count, sizeof(double));
      double* one = calloc((size_t)layers, sizeof(double));
      if (!sec || !one) return fail("bench_runner: out of memory", NULL);
      for (int i = 0; i < count; ++i) {
        memset(one, 0, (size_t)layers * sizeof(double));
        if (RG(run_profiled)(m, batch, x, in_n, y, out_n, one, layers)) return fail(RG(last_error)(), NULL);
        for (int l = 0; l < layers; ++l) sec[(size_t)l * count + i] = one[l];
      }
      printf("layers");
      for (int l = 0; l < layers; ++l) {
        double* v = sec + (size_t)l * count;
        qsort(v, (size_t)count, sizeof(double), by_value);
        printf(" %.9f", count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]));
      }
      printf("\n");
      free(sec), free(one);
    } else if (strncmp(line, "quit", 4) == 0) {
      break;
    } else {
      return fail("bench_runner: unknown command", line);
    }
    fflush(stdout);
  }
  RG(destroy)(m);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("rss %ld\n", ru.ru_maxrss);
  fflush(stdout);
  free(x), free(y);
  return 0;
}
