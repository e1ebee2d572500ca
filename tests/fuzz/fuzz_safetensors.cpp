// libFuzzer harness for the weights reader of every generated library (generator/runtime/
// safetensors.inc, json.inc, pack.inc): parse arbitrary bytes, check every invariant of an
// accepted file, read every tensor and compare with an independent decoding of its bytes, then
// check and pack the file against a tiny network (conv + batch-norm + linear) and compare the
// packed weights with a batch-norm fold computed here. Any violation aborts (a crash to libFuzzer).
// tools/ci_reliability.sh builds and runs it:
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
//       -I. -Igenerator/runtime tests/fuzz/fuzz_safetensors.cpp -o fuzz_safetensors
//   ./fuzz_safetensors -max_total_time=60 -max_len=4096 tests/fuzz/corpus/safetensors
// Built without -fsanitize=fuzzer (with replay_main.cpp) it replays files: the CTest fuzz.replay.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generator/runtime/rg_runtime.h"
#include "generator/runtime/safetensors.inc"
#include "generator/runtime/pack.inc"

namespace {

void fail(const char* what, const char* detail) {
  fprintf(stderr, "fuzz_safetensors: invariant violated: %s (%s)\n", what, detail ? detail : "");
  abort();
}

// The tiny network: conv c [2,1,1,1] + batch-norm bn [2] + linear fc [2,2] (+ bias [2]), in the
// tables' layout (names and keys as offsets into one NUL-separated string blob).
const char kStrings[] = "c\0.weight\0bn\0.bias\0.running_mean\0.running_var\0fc\0";
const char* const kKeys[7] = {"c.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                              "fc.weight", "fc.bias"};

uint32_t str(const char* name) {  // the offset of `name` in kStrings
  for (uint32_t at = 0; at < sizeof kStrings - 1; at += (uint32_t)strlen(kStrings + at) + 1)
    if (!strcmp(kStrings + at, name)) return at;
  abort();
}

rg_net_desc tiny_net(rg_param_desc* params, rg_layer_desc* layers, rg_value_desc* values) {
  const char* prefix[7] = {"c", "bn", "bn", "bn", "bn", "fc", "fc"};
  const char* suffix[7] = {".weight", ".weight", ".bias", ".running_mean", ".running_var", ".weight", ".bias"};
  const int32_t ndims[7] = {4, 1, 1, 1, 1, 2, 1}, shapes[7][4] = {{2, 1, 1, 1}, {2}, {2}, {2}, {2}, {2, 2}, {2}};
  for (int p = 0; p < 7; p++) {
    memset(&params[p], 0, sizeof params[p]);
    params[p].key_prefix = str(prefix[p]), params[p].key_suffix = str(suffix[p]);
    params[p].ndim = ndims[p];
    memcpy(params[p].shape, shapes[p], sizeof shapes[p]);
  }
  memset(values, 0, 3 * sizeof *values);
  values[0].c = 1, values[1].c = values[2].c = 2;
  for (int v = 0; v < 3; v++) values[v].h = values[v].w = 1;
  memset(layers, 0, 2 * sizeof *layers);
  rg_layer_desc* conv = &layers[0];
  conv->kind = RG_CONV, conv->name = str("c"), conv->ksize = 1, conv->groups = 1;
  conv->input = 0, conv->output = 1, conv->residual = -1;
  conv->weight = 0, conv->bias = -1, conv->bn_gamma = 1, conv->bn_beta = 2, conv->bn_mean = 3, conv->bn_var = 4;
  conv->packed_weights = 0, conv->packed_bias = 2;
  rg_layer_desc* fc = &layers[1];
  fc->kind = RG_LINEAR, fc->name = str("fc"), fc->input = 1, fc->output = 2, fc->residual = -1;
  fc->weight = 5, fc->bias = 6, fc->bn_gamma = fc->bn_beta = fc->bn_mean = fc->bn_var = -1;
  fc->packed_weights = 4, fc->packed_bias = 8;
  rg_net_desc net;
  memset(&net, 0, sizeof net);
  net.name = "tiny", net.in_c = 1, net.in_h = net.in_w = 1, net.classes = 2;
  net.num_params = 7, net.num_layers = 2, net.num_values = 3, net.strings = kStrings;
  net.params = params, net.layers = layers, net.values = values;
  net.arena_floats = 2, net.largest_value_floats = 2, net.packed_floats = 10;
  return net;
}

// Element i of t decoded from the raw bytes without the reader's code: ldexp for F16.
double decode(const rg_safetensors* st, const rg_tensor* t, int64_t i) {
  const uint8_t* p = st->data + t->begin;
  if (t->dtype == RG_F32) {
    uint32_t u = 0;
    for (int k = 0; k < 4; k++) u |= (uint32_t)p[4 * i + k] << (8 * k);
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  uint32_t h = (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
  if (t->dtype == RG_BF16) {
    uint32_t u = h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  int e = (int)((h >> 10) & 31), m = (int)(h & 1023);
  double mag = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
  return (h & 0x8000) ? -mag : mag;
}

bool same(double expect, float got) { return isnan(expect) ? isnan(got) : (double)got == expect; }

// Every accepted tensor reads, and every value equals the independent decoding.
void check_tensors(const rg_safetensors* st) {
  char err[256];
  for (int i = 0; i < st->count; i++) {
    const rg_tensor* t = &st->tensors[i];
    if (i > 0 && strcmp(st->tensors[i - 1].key, t->key) >= 0) fail("keys not sorted and unique", t->key);
    if (rg_safetensors_find(st, t->key) != t) fail("key not findable", t->key);
    if (t->begin > t->end || t->end > st->data_size) fail("offsets outside the data section", t->key);
    int64_t numel = rg_st_numel(t);
    if (numel < 0) fail("accepted a shape with too many elements", t->key);
    int isz = rg_st_itemsize(t->dtype);
    if (isz && t->end - t->begin != (uint64_t)numel * (uint64_t)isz) fail("size does not match the shape", t->key);
    for (int k = 0; k < i && t->begin < t->end; k++) {
      const rg_tensor* o = &st->tensors[k];
      if (o->begin < o->end && o->begin < t->end && t->begin < o->end) fail("accepted overlapping tensors", t->key);
    }
    if (numel > (1 << 20)) continue;
    float* out = static_cast<float*>(malloc(static_cast<size_t>(numel ? numel : 1) * sizeof(float)));
    if (!out) continue;
    int rc = rg_tensor_read_f32(st, t, out, numel, err, sizeof err);
    if ((rc == RG_OK) != (t->dtype >= 0)) fail("an accepted F32/F16/BF16 tensor did not read", t->key);
    for (int64_t k = 0; rc == RG_OK && k < numel; k++)
      if (!same(decode(st, t, k), out[k])) fail("a value differs from the raw bytes", t->key);
    if (rc == RG_OK && numel > 0 && rg_tensor_read_f32(st, t, out, numel - 1, err, sizeof err) == RG_OK)
      fail("a read with the wrong count succeeded", t->key);
    free(out);
  }
}

// Packs the file for the tiny network; when it succeeds, checks every packed float.
void check_pack(const rg_safetensors* st) {
  rg_param_desc params[7];
  rg_layer_desc layers[2];
  rg_value_desc values[3];
  rg_net_desc net = tiny_net(params, layers, values);
  float packed[10 + 16];
  char err[512] = "";
  for (int allow = 0; allow < 2; allow++) {
    int rc = rg_pack_weights(&net, st, allow, packed, err, sizeof err);
    if (rc != RG_OK) {
      if (rc != RG_ERR_WEIGHTS || !err[0]) fail("packing failed without RG_ERR_WEIGHTS and a message", err);
      continue;
    }
    double v[7][4];
    for (int p = 0; p < 7; p++) {
      const rg_tensor* t = rg_safetensors_find(st, kKeys[p]);
      if (!t || t->dtype < 0) fail("packing accepted a missing or unreadable parameter", kKeys[p]);
      for (int k = 0; k < (p == 0 || p == 5 ? 4 : 2) && k < 4; k++) {
        v[p][k] = decode(st, t, k);
        if (!isfinite(v[p][k])) fail("packing accepted a non-finite value", kKeys[p]);
      }
    }
    for (int i = 0; i < 10; i++)
      if (!isfinite(packed[i])) fail("packing succeeded with a non-finite packed value", "");
    for (int c = 0; c < 2; c++) {
      double scale = v[1][c] / sqrt(v[4][c] + 1e-5), shift = v[2][c] - v[3][c] * scale;
      if ((float)(v[0][c] * scale) != packed[c] || (float)(0.0 * scale + shift) != packed[2 + c])
        fail("packed conv weights differ from the batch-norm fold", "c");
      if (packed[8 + c] != (float)v[6][c]) fail("packed linear bias differs", "fc.bias");
      for (int i = 0; i < 2; i++)
        if (packed[4 + c + 2 * i] != (float)v[5][2 * c + i]) fail("packed linear weights differ", "fc.weight");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rg_safetensors st;
  char err[256];
  // the parser must not read past the buffer it is given: hand it an exact-size copy
  uint8_t* copy = static_cast<uint8_t*>(malloc(size ? size : 1));
  if (!copy) return 0;
  memcpy(copy, data, size);
  err[0] = 0;
  int rc = rg_safetensors_parse(copy, size, &st, err, sizeof err);
  if (rc == RG_OK) {
    if (size < 8 || st.data + st.data_size != copy + size) fail("the data section does not end the file", "");
    check_tensors(&st);
    check_pack(&st);
    rg_safetensors_free(&st);
  } else if (rc != RG_ERR_WEIGHTS || st.tensors || st.keys || st.count || !err[0]) {
    fail("a failure must be RG_ERR_WEIGHTS, leave *out zeroed and say why", err);
  }
  free(copy);
  return 0;
}
