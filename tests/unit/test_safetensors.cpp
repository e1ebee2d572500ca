// Unit tests for generator/runtime/safetensors.inc: valid files in every dtype resgen reads, and
// every way a file can be malformed, each checked for the status and for a message that names
// the problem.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "generator/runtime/rg_runtime.h"
#include "generator/runtime/safetensors.inc"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes make_file(const std::string& header, const Bytes& data = {}) {
  Bytes f(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; i++) f[i] = static_cast<uint8_t>(n >> (8 * i));
  f.insert(f.end(), header.begin(), header.end());
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

Bytes f32_bytes(const std::vector<float>& v) {
  Bytes b(v.size() * 4);
  for (size_t i = 0; i < v.size(); i++) {
    uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int k = 0; k < 4; k++) b[4 * i + k] = static_cast<uint8_t>(u >> (8 * k));
  }
  return b;
}

Bytes u16_bytes(const std::vector<uint16_t>& v) {
  Bytes b;
  for (uint16_t h : v) {
    b.push_back(static_cast<uint8_t>(h & 0xFF));
    b.push_back(static_cast<uint8_t>(h >> 8));
  }
  return b;
}

// Parses f, expecting failure with `code`; returns the message and checks *out was zeroed.
std::string parse_error(const Bytes& f, int code = RG_ERR_WEIGHTS) {
  rg_safetensors st;
  std::memset(&st, 0x5A, sizeof st);
  char err[512] = "";
  int rc = rg_safetensors_parse(f.data(), f.size(), &st, err, sizeof err);
  CHECK(rc == code);
  CHECK(st.tensors == nullptr);
  CHECK(st.keys == nullptr);
  CHECK(st.count == 0);
  CHECK(std::strlen(err) > 0);
  CHECK(std::strchr(err, '\n') == nullptr);
  return err;
}

std::string header_error(const std::string& header, const Bytes& data = {}) { return parse_error(make_file(header, data)); }

// A one-tensor header with the given entry body.
std::string one(const std::string& entry, const std::string& key = "w") { return "{\"" + key + "\":{" + entry + "}}"; }

}  // namespace

TEST_CASE("safetensors: F32 tensor read back exactly") {
  std::vector<float> v = {1.0f, -2.5f, 3.25f, 0.0f, 1e-30f, -1e30f};
  Bytes f = make_file(one("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]"), f32_bytes(v));
  rg_safetensors st;
  char err[256] = "";
  REQUIRE(rg_safetensors_parse(f.data(), f.size(), &st, err, sizeof err) == RG_OK);
  REQUIRE(st.count == 1);
  const rg_tensor* t = rg_safetensors_find(&st, "w");
  REQUIRE(t != nullptr);
  CHECK(std::string(t->key) == "w");
  CHECK(t->dtype == RG_F32);
  CHECK(std::string(t->dtype_name) == "F32");
  CHECK(t->ndim == 2);
  CHECK(t->shape[0] == 2);
  CHECK(t->shape[1] == 3);
  CHECK(st.data_size == 24);
  CHECK(rg_safetensors_find(&st, "x") == nullptr);
  CHECK(rg_safetensors_find(&st, nullptr) == nullptr);
  CHECK(rg_safetensors_find(nullptr, "w") == nullptr);
  float out[6];
  REQUIRE(rg_tensor_read_f32(&st, t, out, 6, err, sizeof err) == RG_OK);
  for (int i = 0; i < 6; i++) CHECK(out[i] == v[i]);
  // count mismatch and unknown-size reads are errors, not overruns
  CHECK(rg_tensor_read_f32(&st, t, out, 5, err, sizeof err) == RG_ERR_WEIGHTS);
  CHECK(std::strstr(err, "key 'w' holds 6 values, the caller expects 5"));
  CHECK(rg_tensor_read_f32(&st, nullptr, out, 6, err, sizeof err) == RG_ERR_ARGUMENT);
  rg_safetensors_free(&st);
  CHECK(st.tensors == nullptr);
  rg_safetensors_free(&st);  // freeing twice is harmless
}

TEST_CASE("safetensors: F16 including subnormals, infinities and NaN") {
  const std::vector<uint16_t> bits = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x3555,
                                      0x7C00, 0xFC00, 0x8000, 0x0000, 0x7E00, 0xFE01};
  const std::vector<float> want = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f, 6.0975551605224609375e-5f,
                                   6.103515625e-5f, 0.333251953125f, INFINITY, -INFINITY, -0.0f, 0.0f, NAN, NAN};
  std::string h = one("\"dtype\":\"F16\",\"shape\":[13],\"data_offsets\":[0,26]");
  Bytes f = make_file(h, u16_bytes(bits));
  rg_safetensors st;
  char err[256] = "";
  REQUIRE(rg_safetensors_parse(f.data(), f.size(), &st, err, sizeof err) == RG_OK);
  const rg_tensor* t = rg_safetensors_find(&st, "w");
  REQUIRE(t);
  CHECK(t->dtype == RG_F16);
  float out[13];
  REQUIRE(rg_tensor_read_f32(&st, t, out, 13, err, sizeof err) == RG_OK);
  for (int i = 0; i < 13; i++) {
    CAPTURE(i);
    if (std::isnan(want[i])) {
      CHECK(std::isnan(out[i]));
      CHECK(std::signbit(out[i]) == (bits[i] >> 15 != 0));
    } else {
      CHECK(out[i] == want[i]);
      CHECK(std::signbit(out[i]) == std::signbit(want[i]));
    }
  }
  rg_safetensors_free(&st);
}

TEST_CASE("safetensors: BF16, unaligned data, several tensors, __metadata__ skipped") {
  // a 1-byte U8 tensor first, so the BF16 and F32 data start at odd offsets
  Bytes data = {7};
  Bytes bf = u16_bytes({0x3F80, 0xC040, 0x3EAB, 0x7F80, 0xFF80, 0x7FC0});
  data.insert(data.end(), bf.begin(), bf.end());
  Bytes f3 = f32_bytes({42.0f, -0.125f});
  data.insert(data.end(), f3.begin(), f3.end());
  std::string h =
      "  {\n \"__metadata__\" : {\"format\": \"pt\", \"note\": \"a \\\"quoted\\\" \\u00e9\"},\n"
      "  \"z.bias\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},\n"
      "  \"a.weight\": {\"shape\": [2, 3], \"data_offsets\": [1, 13], \"dtype\": \"BF16\"},\n"
      "  \"m\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [13, 21], \"extra\": [null, true, {\"x\": -1.5e3}]}\n"
      "}        ";
  Bytes f = make_file(h, data);
  rg_safetensors st;
  char err[256] = "";
  REQUIRE_MESSAGE(rg_safetensors_parse(f.data(), f.size(), &st, err, sizeof err) == RG_OK, err);
  REQUIRE(st.count == 3);
  CHECK(std::string(st.tensors[0].key) == "a.weight");  // sorted by key
  CHECK(std::string(st.tensors[1].key) == "m");
  CHECK(std::string(st.tensors[2].key) == "z.bias");
  CHECK(rg_safetensors_find(&st, "__metadata__") == nullptr);
  const rg_tensor* t = rg_safetensors_find(&st, "a.weight");
  REQUIRE(t);
  float out[6];
  REQUIRE(rg_tensor_read_f32(&st, t, out, 6, err, sizeof err) == RG_OK);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == -3.0f);
  CHECK(out[2] == 0.333984375f);
  CHECK(out[3] == INFINITY);
  CHECK(out[4] == -INFINITY);
  CHECK(std::isnan(out[5]));
  REQUIRE(rg_tensor_read_f32(&st, rg_safetensors_find(&st, "m"), out, 2, err, sizeof err) == RG_OK);
  CHECK(out[0] == 42.0f);
  CHECK(out[1] == -0.125f);
  const rg_tensor* u8 = rg_safetensors_find(&st, "z.bias");
  REQUIRE(u8);
  CHECK(u8->dtype == -1);
  CHECK(std::string(u8->dtype_name) == "U8");
  rg_safetensors_free(&st);
}

TEST_CASE("safetensors: empty shapes, scalars, empty header, escaped keys") {
  std::string h = "{\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]},"
                  "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                  "\"\\u00e9\\n\\ud83d\\ude00\\/\":{\"dtype\":\"F16\",\"shape\":[1099511627776,0],\"data_offsets\":[4,4]}}";
  Bytes f = make_file(h, f32_bytes({2.5f}));
  rg_safetensors st;
  char err[256] = "";
  REQUIRE_MESSAGE(rg_safetensors_parse(f.data(), f.size(), &st, err, sizeof err) == RG_OK, err);
  CHECK(st.count == 3);
  float x = 0;
  const rg_tensor* s = rg_safetensors_find(&st, "s");
  REQUIRE(s);
  CHECK(s->ndim == 0);
  REQUIRE(rg_tensor_read_f32(&st, s, &x, 1, err, sizeof err) == RG_OK);
  CHECK(x == 2.5f);
  CHECK(rg_tensor_read_f32(&st, rg_safetensors_find(&st, "e"), nullptr, 0, err, sizeof err) == RG_OK);
  CHECK(rg_safetensors_find(&st, "\xC3\xA9\n\xF0\x9F\x98\x80/") != nullptr);
  rg_safetensors_free(&st);

  Bytes empty = make_file("{}");
  REQUIRE(rg_safetensors_parse(empty.data(), empty.size(), &st, err, sizeof err) == RG_OK);
  CHECK(st.count == 0);
  CHECK(rg_safetensors_find(&st, "w") == nullptr);
  rg_safetensors_free(&st);

  std::string k4096(4096, 'k');
  Bytes longkey = make_file(one("\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]", k4096));
  REQUIRE(rg_safetensors_parse(longkey.data(), longkey.size(), &st, err, sizeof err) == RG_OK);
  CHECK(rg_safetensors_find(&st, k4096.c_str()) != nullptr);
  rg_safetensors_free(&st);
}

TEST_CASE("safetensors: file-level failures") {
  CHECK(parse_error(Bytes{1, 2, 3}).find("file of 3 bytes is too small") != std::string::npos);
  Bytes big = make_file("{}");
  big[0] = 0x40;  // 123456 = 0x01E240
  big[1] = 0xE2;
  big[2] = 0x01;
  CHECK(std::strstr(parse_error(big).c_str(), "header length 123456 exceeds the file size 10"));
  Bytes huge(8 + 100000001, ' ');
  uint64_t n = 100000001;
  for (int i = 0; i < 8; i++) huge[i] = static_cast<uint8_t>(n >> (8 * i));
  CHECK(std::strstr(parse_error(huge).c_str(), "header length 100000001 exceeds the limit of 100000000 bytes"));
  CHECK(std::strstr(header_error("hello").c_str(), "bad JSON in header at byte 0: expected '{'"));
  CHECK(std::strstr(header_error("").c_str(), "expected '{' (the header ends there)"));
  rg_safetensors st;
  CHECK(rg_safetensors_parse(nullptr, 0, &st, nullptr, 0) == RG_ERR_WEIGHTS);
  CHECK(rg_safetensors_parse(big.data(), big.size(), nullptr, nullptr, 0) == RG_ERR_ARGUMENT);
  // a null or tiny error buffer must be safe
  CHECK(rg_safetensors_parse(big.data(), big.size(), &st, nullptr, 100) == RG_ERR_WEIGHTS);
  char tiny[8];
  CHECK(rg_safetensors_parse(big.data(), big.size(), &st, tiny, sizeof tiny) == RG_ERR_WEIGHTS);
  CHECK(std::string(tiny) == "safeten");
}

TEST_CASE("safetensors: bad JSON at several points") {
  const std::string ok = "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]";
  const Bytes four = f32_bytes({1.0f});
  struct Case { std::string header, message; };
  const Case cases[] = {
      {"{\"w\" 1}", "at byte 5: expected ':'"},
      {"{\"w\":{" + ok + "} \"v\":{}}", "expected ',' or '}'"},
      {"{\"w\":{" + ok + "}", "expected ',' or '}' (the header ends there)"},
      {"{\"w", "unterminated string"},
      {"{w:1}", "at byte 1: expected a string"},
      {"{\"a\\qb\":{}}", "at byte 3: bad escape in a string"},
      {"{\"a\\u12G4\":{}}", "bad \\u escape"},
      {"{\"a\\udc00\":{}}", "unpaired surrogate"},
      {"{\"a\\ud800x\":{}}", "unpaired surrogate"},
      {"{\"a\\ud800\\u0041\":{}}", "unpaired surrogate"},
      {"{\"a\tb\":{}}", "control character in a string"},
      {"{\"a\xC3(\":{}}", "invalid UTF-8"},
      {"{\"a\xED\xA0\x80\":{}}", "invalid UTF-8"},  // an encoded surrogate
      {"{\"a\xC0\xAF\":{}}", "invalid UTF-8"},      // overlong '/'
      {"{\"w\":{" + ok + "}} x", "at byte 55: unexpected data after the JSON object"},
      {"{\"w\":{" + ok + ",\"x\":1.}}", "digit expected after '.'"},
      {"{\"w\":{" + ok + ",\"x\":1e+}}", "digit expected in the exponent"},
      {"{\"w\":{" + ok + ",\"x\":-}}", "bad number"},
      {"{\"w\":{" + ok + ",\"x\":tru}}", "expected a value"},
      {"{\"w\":{" + ok + ",\"x\":[1,]}}", "expected a value"},
      {"{\"w\":{" + ok + ",\"x\":[1 2]}}", "expected ',' or ']'"},
      {"{\"w\":{" + ok + ",\"x\":{\"a\" 1}}}", "expected ':'"},
      {"{\"__metadata__\":{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}}", "nesting deeper than 64 levels"},
      {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1 1],\"data_offsets\":[0,4]}}", "expected ',' or ']'"},
      {"{\"w\":{\"dtype\" \"F32\"}}", "expected ':'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.header);
    std::string e = header_error(c.header, four);
    CAPTURE(e);
    CHECK(e.rfind("safetensors: bad JSON in header at byte ", 0) == 0);
    CHECK(e.find(c.message) != std::string::npos);
  }
}

TEST_CASE("safetensors: bad tensor entries") {
  const Bytes data = f32_bytes({1, 2, 3, 4, 5, 6});
  struct Case { std::string header, message; };
  const Case cases[] = {
      {one("\"shape\":[1],\"data_offsets\":[0,4]"), "tensor 'w': missing \"dtype\""},
      {one("\"dtype\":\"F32\",\"data_offsets\":[0,4]"), "tensor 'w': missing \"shape\""},
      {one("\"dtype\":\"F32\",\"shape\":[1]"), "tensor 'w': missing \"data_offsets\""},
      {"{\"w\":[1]}", "tensor 'w': expected an object at header byte 5"},
      {one("\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]"), "tensor 'w': dtype must be a string"},
      {one("\"dtype\":\"F32_WITH_A_VERY_LONG_NAME\",\"shape\":[1],\"data_offsets\":[0,4]"), "dtype is not a safetensors dtype name"},
      {one("\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]"), "tensor 'w': duplicate field \"dtype\""},
      {one("\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]"), "tensor 'w': shape must be an array"},
      {one("\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]"), "tensor 'w': shape[0] is not a non-negative integer"},
      {one("\"dtype\":\"F32\",\"shape\":[1, 1.0],\"data_offsets\":[0,4]"), "tensor 'w': shape[1] is not a non-negative integer"},
      {one("\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]"), "shape[0] is not a non-negative integer"},
      {one("\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]"), "shape[0] is not a non-negative integer"},
      {one("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]"), "shape has more than 8 entries"},
      {one("\"dtype\":\"F32\",\"shape\":[1099511627777],\"data_offsets\":[0,4]"), "shape[0] = 1099511627777 exceeds 2^40"},
      {one("\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]"),
       "shape [1099511627776, 1099511627776] has too many elements"},
      {one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]"), "data_offsets must be [begin, end]"},
      {one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]"), "data_offsets has more than 2 entries"},
      {one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]"), "data_offsets [8, 4] are reversed in the data section of 24 bytes"},
      {one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]"), "data_offsets [24, 28] fall outside the data section of 24 bytes"},
      {one("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,12]", "conv1.weight"),
       "safetensors: tensor 'conv1.weight': data_offsets [0, 12] hold 12 bytes but shape [2, 3] of F32 needs 24"},
      {one("\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,8]"), "hold 8 bytes but shape [2] of BF16 needs 4"},
      {one("\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,0]"), "hold 0 bytes but shape [] of F16 needs 2"},
      {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"v\":{},"
       "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "tensor 'v': missing \"dtype\""},
      {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
       "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "safetensors: duplicate key 'w'"},
      {"{\"__metadata__\":{},\"__metadata__\":{}}", "duplicate key '__metadata__'"},
      {"{\"__metadata__\":\"x\"}", "__metadata__ must be an object"},
      {"{\"__metadata__\":" + std::string(100, '[') + std::string(100, ']') + "}", "__metadata__ must be an object"},
      {one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]", std::string(4097, 'k')),
       "the key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' at header byte 1 is longer than 4096 bytes"},
      {one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]", "a\\u0000b"), "the key 'a' at header byte 1 contains a NUL"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
       "safetensors: tensors 'a' and 'b' overlap: data_offsets [0, 8] and [4, 12]"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],"
       "\"data_offsets\":[8,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
       "tensors 'a' and 'b' overlap"},  // contained, with an empty tensor in between (which overlaps nothing)
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
       "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
       "tensors 'a' and 'b' overlap: data_offsets [0, 4] and [0, 4]"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.header);
    std::string e = header_error(c.header, data);
    CAPTURE(e);
    CHECK(e.find(c.message) != std::string::npos);
  }
}

TEST_CASE("safetensors: unknown dtypes parse but do not read") {
  Bytes f = make_file("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                      "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[16,24]}}",
                      Bytes(24, 0));
  rg_safetensors st;
  char err[256] = "";
  REQUIRE(rg_safetensors_parse(f.data(), f.size(), &st, err, sizeof err) == RG_OK);
  const rg_tensor* t = rg_safetensors_find(&st, "w");
  REQUIRE(t);
  CHECK(t->dtype == -1);
  CHECK(std::string(t->dtype_name) == "F64");
  float out[2];
  CHECK(rg_tensor_read_f32(&st, t, out, 2, err, sizeof err) == RG_ERR_WEIGHTS);
  CHECK(std::strstr(err, "key 'w' has dtype F64, resgen reads F32/F16/BF16"));
  CHECK(rg_tensor_read_f32(&st, rg_safetensors_find(&st, "n"), out, 1, err, sizeof err) == RG_ERR_WEIGHTS);
  CHECK(std::strstr(err, "key 'n' has dtype I64"));
  // a tensor edited by the caller to point outside the data is refused, not read
  rg_tensor bad = *t;
  bad.dtype = RG_F32;
  bad.end = 1000;
  CHECK(rg_tensor_read_f32(&st, &bad, out, 2, err, sizeof err) == RG_ERR_WEIGHTS);
  rg_safetensors_free(&st);
}

TEST_CASE("safetensors: every prefix and every single-byte corruption is handled") {
  std::string h = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
  Bytes f = make_file(h, Bytes{0, 0x3C, 0, 0xC0, 0, 0, 0x80, 0x3F});
  char err[256];
  rg_safetensors st;
  for (size_t len = 0; len < f.size(); len++) {
    Bytes prefix(f.begin(), f.begin() + static_cast<long>(len));
    CAPTURE(len);
    CHECK(rg_safetensors_parse(prefix.data(), prefix.size(), &st, err, sizeof err) == RG_ERR_WEIGHTS);
  }
  const uint8_t values[] = {0, '"', '\\', '{', '}', '[', ']', ',', ':', '9', 0xFF, 0x80};
  for (size_t i = 0; i < f.size(); i++)
    for (uint8_t v : values) {
      Bytes g = f;
      g[i] = v;
      if (rg_safetensors_parse(g.data(), g.size(), &st, err, sizeof err) != RG_OK) continue;
      float out[2];
      for (int k = 0; k < st.count; k++) {
        int64_t numel = rg_st_numel(&st.tensors[k]);
        if (numel >= 0 && numel <= 2) rg_tensor_read_f32(&st, &st.tensors[k], out, numel, err, sizeof err);
      }
      rg_safetensors_free(&st);
    }
}

TEST_CASE("safetensors: rg_read_file") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("resgen_st_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  uint8_t* data = nullptr;
  uint64_t size = 0;
  char err[512] = "";
  std::string missing = (dir / "missing.safetensors").string();
  CHECK(rg_read_file(missing.c_str(), &data, &size, err, sizeof err) == RG_ERR_IO);
  CHECK(std::strstr(err, ("cannot open weights file '" + missing + "': No such file or directory").c_str()));
  CHECK(data == nullptr);
  CHECK(rg_read_file(dir.string().c_str(), &data, &size, err, sizeof err) == RG_ERR_IO);
  CHECK(std::strstr(err, "weights file"));
  CHECK(rg_read_file(nullptr, &data, &size, err, sizeof err) == RG_ERR_ARGUMENT);

  Bytes content(200000);
  for (size_t i = 0; i < content.size(); i++) content[i] = static_cast<uint8_t>(i * 7);
  std::string path = (dir / "w.bin").string();
  FILE* fp = std::fopen(path.c_str(), "wb");
  REQUIRE(fp);
  std::fwrite(content.data(), 1, content.size(), fp);
  std::fclose(fp);
  REQUIRE(rg_read_file(path.c_str(), &data, &size, err, sizeof err) == RG_OK);
  CHECK(size == content.size());
  CHECK(std::memcmp(data, content.data(), content.size()) == 0);
  std::free(data);

  fp = std::fopen(path.c_str(), "wb");
  std::fclose(fp);
  REQUIRE(rg_read_file(path.c_str(), &data, &size, err, sizeof err) == RG_OK);
  CHECK(size == 0);
  CHECK(data != nullptr);
  std::free(data);
  fs::remove_all(dir);
}
