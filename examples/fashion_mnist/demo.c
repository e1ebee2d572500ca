/* Classifies the Fashion-MNIST test set with the generated library (weights embedded) and
 * compares with PyTorch's predictions for the same weights.
 *
 *   fashion_demo IMAGES.npy LABELS.npy TORCH_LOGITS.npy [THREADS]
 *
 * IMAGES: float32 (N,1,28,28), already normalized; LABELS: int64 (N,); TORCH_LOGITS: float32
 * (N,10). tools/fashion_mnist_reference.py writes all three. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fashion_resnet20.h"

/* The data of a version 1 .npy file whose payload must be `bytes` long. */
static void* load_npy(const char* path, size_t bytes) {
  FILE* f = fopen(path, "rb");
  unsigned char head[10];
  if (!f || fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0) {
    fprintf(stderr, "error: %s is not a .npy file\n", path);
    exit(1);
  }
  size_t header = head[8] | (size_t)head[9] << 8;
  void* data = malloc(bytes);
  if (!data || fseek(f, (long)(10 + header), SEEK_SET) != 0 || fread(data, 1, bytes, f) != bytes) {
    fprintf(stderr, "error: %s holds fewer than %zu bytes of data\n", path, bytes);
    exit(1);
  }
  fclose(f);
  return data;
}

static int argmax(const float* v, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: fashion_demo IMAGES.npy LABELS.npy TORCH_LOGITS.npy [THREADS]\n");
    return 2;
  }
  enum { N = 10000, K = FASHION_RESNET20_CLASSES, PIXELS = 28 * 28, BATCH = 100 };
  float* images = load_npy(argv[1], sizeof(float) * N * PIXELS);
  int64_t* labels = load_npy(argv[2], sizeof(int64_t) * N);
  float* torch_logits = load_npy(argv[3], sizeof(float) * N * K);
  float* logits = malloc(sizeof(float) * N * K);
  int threads = argc > 4 ? atoi(argv[4]) : 2;

  fashion_resnet20_model* model = NULL;
  if (fashion_resnet20_set_num_threads(threads) != 0 || fashion_resnet20_create(&model) != 0) {
    fprintf(stderr, "error: %s\n", fashion_resnet20_last_error());
    return 1;
  }
  double start = now();
  for (int i = 0; i < N; i += BATCH) {
    if (fashion_resnet20_run(model, BATCH, images + (size_t)i * PIXELS, (size_t)BATCH * PIXELS,
                             logits + (size_t)i * K, (size_t)BATCH * K) != 0) {
      fprintf(stderr, "error: %s\n", fashion_resnet20_last_error());
      return 1;
    }
  }
  double seconds = now() - start;

  int correct = 0, torch_correct = 0, disagree = 0;
  for (int i = 0; i < N; ++i) {
    int ours = argmax(logits + (size_t)i * K, K), theirs = argmax(torch_logits + (size_t)i * K, K);
    correct += ours == labels[i];
    torch_correct += theirs == labels[i];
    disagree += ours != theirs;
  }
  printf("accuracy: %.2f%% (PyTorch: %.2f%%, images that disagree: %d)\n", 100.0 * correct / N,
         100.0 * torch_correct / N, disagree);
  printf("images per second: %.0f (%d images, batch %d, %d threads, %.3f s)\n", N / seconds, N, BATCH,
         threads, seconds);
  fashion_resnet20_destroy(model);
  free(images), free(labels), free(torch_logits), free(logits);
  return 0;
}
