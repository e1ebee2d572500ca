/* A C11 program that links two generated libraries with no Halide anywhere on its paths.
 *   aot_main INPUT.bin N OUT_A.bin OUT_B.bin WEIGHTS_B
 * Network A (cifar_resnet20) has embedded weights; network B (preact_resnet20) reads its
 * safetensors file. Raw float32 files keep this program free of any parser. A batch of N >= 2
 * is also run with 1 and 3 threads and with RESGEN_BATCH_SPLIT=off: sharing the batch's images
 * out to the threads (model.inc, rg_plan_batch) must give the same bits as every thread on each
 * layer. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cifar_resnet20.h"
#include "preact_resnet20.h"

static float* read_floats(const char* path, size_t count) {
  FILE* f = fopen(path, "rb");
  float* data = malloc(count * sizeof(float));
  if (!f || !data || fread(data, sizeof(float), count, f) != count) {
    fprintf(stderr, "cannot read %zu floats from %s\n", count, path);
    exit(1);
  }
  fclose(f);
  return data;
}

static void write_floats(const char* path, const float* data, size_t count) {
  FILE* f = fopen(path, "wb");
  if (!f || fwrite(data, sizeof(float), count, f) != count) exit(1);
  fclose(f);
}

int main(int argc, char** argv) {
  if (argc != 6) return 2;
  int n = atoi(argv[2]);
  size_t in_count = (size_t)n * CIFAR_RESNET20_INPUT_C * CIFAR_RESNET20_INPUT_H * CIFAR_RESNET20_INPUT_W;
  float* x = read_floats(argv[1], in_count);
  float* ya = malloc(sizeof(float) * (size_t)n * CIFAR_RESNET20_CLASSES);
  float* yb = malloc(sizeof(float) * (size_t)n * PREACT_RESNET20_CLASSES);

  cifar_resnet20_model* a = NULL;
  preact_resnet20_model* b = NULL;
  if (!cifar_resnet20_has_embedded_weights() || cifar_resnet20_create(&a) != CIFAR_RESNET20_OK) {
    fprintf(stderr, "create a: %s\n", cifar_resnet20_last_error());
    return 1;
  }
  if (preact_resnet20_create(&b) != PREACT_RESNET20_ERR_NO_EMBEDDED) return 3;
  if (preact_resnet20_create_from_file(argv[5], 0, &b) != PREACT_RESNET20_OK) {
    fprintf(stderr, "create b: %s\n", preact_resnet20_last_error());
    return 1;
  }
  /* A wrong size is an error with a message, not a crash. */
  if (cifar_resnet20_run(a, n, x, in_count - 1, ya, (size_t)n * 10) != CIFAR_RESNET20_ERR_ARGUMENT) return 4;
  if (cifar_resnet20_run(NULL, n, x, in_count, ya, (size_t)n * 10) != CIFAR_RESNET20_ERR_ARGUMENT) return 4;
  printf("expected error: %s\n", cifar_resnet20_last_error());
  size_t bytes = 0;
  cifar_resnet20_activation_bytes(1, &bytes);
  printf("activation bytes per image: %zu\n", bytes);
  cifar_resnet20_set_num_threads(2);
  if (cifar_resnet20_run(a, n, x, in_count, ya, (size_t)n * 10) != 0 ||
      preact_resnet20_run(b, n, x, in_count, yb, (size_t)n * 10) != 0) {
    fprintf(stderr, "run: %s %s\n", cifar_resnet20_last_error(), preact_resnet20_last_error());
    return 1;
  }
  float* again = malloc(sizeof(float) * (size_t)n * CIFAR_RESNET20_CLASSES);
  const struct {
    int threads;
    const char* split;
  } variants[] = {{1, "on"}, {3, "on"}, {2, "off"}};
  for (int i = 0; n >= 2 && i < 3; ++i) {
    cifar_resnet20_set_num_threads(variants[i].threads);
    setenv("RESGEN_BATCH_SPLIT", variants[i].split, 1);
    cifar_resnet20_activation_bytes(n, &bytes);
    if (cifar_resnet20_run(a, n, x, in_count, again, (size_t)n * 10) != 0) {
      fprintf(stderr, "run: %s\n", cifar_resnet20_last_error());
      return 1;
    }
    if (memcmp(again, ya, sizeof(float) * (size_t)n * 10) != 0) {
      fprintf(stderr, "batch %d with %d threads, batch split %s: logits differ from 2 threads'\n", n,
              variants[i].threads, variants[i].split);
      return 5;
    }
    printf("batch %d, %d threads, batch split %s: the same logits (activation bytes %zu)\n", n, variants[i].threads,
           variants[i].split, bytes);
  }
  unsetenv("RESGEN_BATCH_SPLIT");
  free(again);
  write_floats(argv[3], ya, (size_t)n * 10);
  write_floats(argv[4], yb, (size_t)n * 10);
  cifar_resnet20_destroy(a);
  preact_resnet20_destroy(b);
  free(x), free(ya), free(yb);
  return 0;
}
