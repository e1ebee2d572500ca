// libFuzzer harness for generator/runtime/safetensors.inc: parse arbitrary bytes, then read every
// tensor the parser accepted (reads are bounded by the parser's own checks, so any overrun here
// is a parser bug). Build and run:
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
//       -Wall -Wextra -Wno-unused-function -I. tests/fuzz/fuzz_safetensors.cpp -o /tmp/fuzz_st
//   /tmp/fuzz_st -max_total_time=60 -max_len=4096
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "generator/runtime/rg_runtime.h"
#include "generator/runtime/safetensors.inc"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rg_safetensors st;
  char err[256];
  // the parser must not read past the buffer it is given: hand it an exact-size copy
  uint8_t* copy = static_cast<uint8_t*>(malloc(size ? size : 1));
  if (!copy) return 0;
  memcpy(copy, data, size);
  if (rg_safetensors_parse(copy, size, &st, err, sizeof err) == RG_OK) {
    for (int i = 0; i < st.count; i++) {
      const rg_tensor* t = &st.tensors[i];
      if (rg_safetensors_find(&st, t->key) != t) abort();  // keys are unique and findable
      int64_t numel = rg_st_numel(t);
      if (numel < 0 || numel > (1 << 20)) continue;
      float* out = static_cast<float*>(malloc(static_cast<size_t>(numel ? numel : 1) * sizeof(float)));
      if (!out) continue;
      int rc = rg_tensor_read_f32(&st, t, out, numel, err, sizeof err);
      if ((rc == RG_OK) != (t->dtype >= 0)) abort();  // every accepted F32/F16/BF16 tensor reads
      free(out);
    }
    rg_safetensors_free(&st);
  } else if (st.tensors || st.keys || st.count || !err[0]) {
    abort();  // a failure leaves *out zeroed and says why
  }
  free(copy);
  return 0;
}
