/* The runner `resgen run` links against a generated library: reads a .npy input, runs the
 * network, writes the .npy logits. Built with -DRG_NET=<net> -DRG_HEADER="<net>.h".
 *   runner WEIGHTS INPUT OUTPUT ALLOW_EXTRA THREADS
 * With RESGEN_CPU_PATH=sse41|avx2|avx512, an x86 multi-target library may use no sub-target
 * above that level (tests force each path this CPU has), and the runner reports on stderr the
 * highest level the library chose, or "last sub-target" (the one taken without a check). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include RG_HEADER
#include "HalideRuntime.h"
#include "rg_runtime.h"
#include "npy.inc"

#define RG_CAT2(a, b) a##_##b
#define RG_CAT(a, b) RG_CAT2(a, b)
#define RG(name) RG_CAT(RG_NET, name)

static int fail(const char* what) {
  fprintf(stderr, "error: %s\n", what);
  return 1;
}

/* Forcing a multi-target library's path: Halide asks halide_can_use_target_features for each
 * sub-target's features, most preferred first; refusing those above the allowed level makes it
 * fall through to a lower one. Levels: 0 baseline/SSE4.1, 1 AVX2, 2 AVX-512. */
static int rg_allowed_level = -1, rg_chosen_level = -1;

static int rg_has(const uint64_t* features, int count, int f) {
  return f / 64 < count && ((features[f / 64] >> (f % 64)) & 1);
}

static int rg_level(int count, const uint64_t* features) {
  if (rg_has(features, count, halide_target_feature_avx512) ||
      rg_has(features, count, halide_target_feature_avx512_skylake) ||
      rg_has(features, count, halide_target_feature_avx512_cannonlake) ||
      rg_has(features, count, halide_target_feature_avx512_sapphirerapids))
    return 2;
  return rg_has(features, count, halide_target_feature_avx2) ? 1 : 0;
}

static int rg_limited_can_use(int count, const uint64_t* features) {
  int level = rg_level(count, features);
  if (level > rg_allowed_level || !halide_default_can_use_target_features(count, features)) return 0;
  if (level > rg_chosen_level) rg_chosen_level = level;
  return 1;
}

static const char* const rg_level_names[] = {"sse41", "avx2", "avx512"};

int main(int argc, char** argv) {
  if (const char* path = getenv("RESGEN_CPU_PATH")) {
    for (int i = 0; i < 3; ++i)
      if (strcmp(path, rg_level_names[i]) == 0) rg_allowed_level = i;
    if (rg_allowed_level < 0) return fail("RESGEN_CPU_PATH must be sse41, avx2 or avx512");
    halide_set_custom_can_use_target_features(rg_limited_can_use);
  }
  if (argc != 6) return fail("usage: runner WEIGHTS INPUT OUTPUT ALLOW_EXTRA THREADS");
  char err[1024];
  int64_t shape[8];
  int ndim = 0;
  float* input = NULL;
  if (rg_npy_read_f32(argv[2], shape, &ndim, &input, err, sizeof err) != RG_OK) return fail(err);
  int c, h, w, k;
  RG(input_shape)(&c, &h, &w);
  RG(output_shape)(&k);
  if (ndim != 4 || shape[1] != c || shape[2] != h || shape[3] != w || shape[0] < 1) {
    snprintf(err, sizeof err, "input '%s' must have shape (N, %d, %d, %d) with N >= 1", argv[2], c, h, w);
    free(input);
    return fail(err);
  }
  int threads = atoi(argv[5]);
  if (threads > 0 && RG(set_num_threads)(threads) != 0) return fail(RG(last_error)());
  RG(model)* model = NULL;
  if (RG(create_from_file)(argv[1], (unsigned)atoi(argv[4]), &model) != 0) {
    free(input);
    return fail(RG(last_error)());
  }
  int64_t n = shape[0];
  float* out = (float*)malloc((size_t)(n * k) * sizeof(float));
  int status = out ? RG(run)(model, n, input, (size_t)(n * c * h * w), out, (size_t)(n * k)) : 4;
  if (status != 0) {
    snprintf(err, sizeof err, "%s", out ? RG(last_error)() : "out of memory for the output");
  } else {
    for (int64_t i = 0; i < n * k && status == 0; ++i)
      if (!isfinite(out[i])) {
        snprintf(err, sizeof err, "output logit %lld is not finite", (long long)i);
        status = 5;
      }
  }
  if (rg_allowed_level >= 0)
    fprintf(stderr, "cpu path: %s\n", rg_chosen_level >= 0 ? rg_level_names[rg_chosen_level] : "last sub-target");
  int64_t out_shape[2] = {n, k};
  if (status == 0 && rg_npy_write_f32(argv[3], out_shape, 2, out, err, sizeof err) != RG_OK) status = 2;
  RG(destroy)(model);
  free(input);
  free(out);
  return status == 0 ? 0 : fail(err);
}
