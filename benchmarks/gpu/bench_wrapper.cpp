// A shared library over one generated network, for check.py (ctypes). Built on the device
// machine with -DRG_NET=<net> -DRG_HEADER="<net>.h" and the network's lib<net>.a.
#include <stddef.h>
#include <stdint.h>

#include RG_HEADER

#define RG_CAT2(a, b) a##_##b
#define RG_CAT(a, b) RG_CAT2(a, b)
#define RG(name) RG_CAT(RG_NET, name)

// In the library, not in its header (generator/runtime/run.inc): each layer waited for and timed.
extern "C" int RG(run_profiled)(RG(model) * m, int64_t batch, const float* input, size_t input_floats,
                                float* output, size_t output_floats, double* seconds, int num_layers);

static RG(model)* model = nullptr;

extern "C" int bench_create(const char* weights) {
  if (model) RG(destroy)(model);
  model = nullptr;
  return RG(create_from_file)(weights, 0, &model);
}

extern "C" int bench_run(int64_t batch, const float* input, size_t input_floats, float* output, size_t output_floats) {
  return RG(run)(model, batch, input, input_floats, output, output_floats);
}

extern "C" int bench_run_profiled(int64_t batch, const float* input, size_t input_floats, float* output,
                                  size_t output_floats, double* seconds, int num_layers) {
  return RG(run_profiled)(model, batch, input, input_floats, output, output_floats, seconds, num_layers);
}

extern "C" const char* bench_error(void) { return RG(last_error)(); }

extern "C" void bench_destroy(void) {
  RG(destroy)(model);
  model = nullptr;
}
