// Unit tests for generator/runtime/npy.inc: round trips, files laid out exactly as NumPy writes
// them (built here byte by byte from the header text), and every rejection with its message.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "generator/runtime/rg_runtime.h"
#include "generator/runtime/npy.inc"

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("resgen_npy_test_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

std::string read_bytes(const std::string& path) {
  std::string s;
  FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

std::string f32_le(const std::vector<float>& v) {
  std::string s;
  for (float x : v) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    for (int k = 0; k < 4; k++) s.push_back(static_cast<char>(u >> (8 * k)));
  }
  return s;
}

// A .npy as NumPy lays it out: magic, version, little-endian header length, the dict padded
// with spaces and ended with '\n' so the data starts at a multiple of 64.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  size_t pre = major == 1 ? 10 : 12;
  std::string h = dict;
  while ((pre + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string s = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  for (size_t i = 0; i < pre - 8; i++) s.push_back(static_cast<char>(h.size() >> (8 * i)));
  return s + h + data;
}

struct Result {
  int rc;
  std::string err;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

Result read(const std::string& path) {
  int64_t shape[8];
  int ndim = -1;
  float* data = reinterpret_cast<float*>(1);
  char err[512] = "";
  Result r;
  r.rc = rg_npy_read_f32(path.c_str(), shape, &ndim, &data, err, sizeof err);
  r.err = err;
  if (r.rc == RG_OK) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    r.shape.assign(shape, shape + ndim);
    r.data.assign(data, data + n);
    std::free(data);
  } else {
    CHECK(data == nullptr);
    CHECK(ndim == 0);
    CHECK(!r.err.empty());
  }
  return r;
}

// Writes a file with the given header dict (and data) and returns the reader's error.
std::string dict_error(const TempDir& t, const std::string& dict, const std::string& data = std::string(24, '\0')) {
  std::string p = t.path("bad.npy");
  write_bytes(p, npy_file(dict, data));
  Result r = read(p);
  CHECK(r.rc == RG_ERR_ARGUMENT);
  CHECK(r.err.rfind("input '" + p + "': ", 0) == 0);
  return r.err;
}

}  // namespace

TEST_CASE("npy: write then read round trip") {
  TempDir t;
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); i++) v[i] = static_cast<float>(i) * 0.5f - 3.0f;
  int64_t shape[3] = {2, 3, 4};
  char err[256] = "";
  std::string p = t.path("a.npy");
  REQUIRE(rg_npy_write_f32(p.c_str(), shape, 3, v.data(), err, sizeof err) == RG_OK);
  std::string bytes = read_bytes(p);
  CHECK(bytes.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  size_t hlen = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
  CHECK((10 + hlen) % 64 == 0);
  CHECK(bytes[10 + hlen - 1] == '\n');
  CHECK(bytes.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }") == 10);
  CHECK(bytes.size() == 10 + hlen + 96);
  // byte-identical to what NumPy writes for the same array
  CHECK(bytes == npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", f32_le(v)));
  Result r = read(p);
  REQUIRE(r.rc == RG_OK);
  CHECK(r.shape == std::vector<int64_t>{2, 3, 4});
  CHECK(r.data == v);

  int64_t one[1] = {5};
  float five[5] = {1, 2, 3, 4, 5};
  REQUIRE(rg_npy_write_f32(p.c_str(), one, 1, five, err, sizeof err) == RG_OK);
  CHECK(read_bytes(p).find("'shape': (5,), }") != std::string::npos);
  r = read(p);
  REQUIRE(r.rc == RG_OK);
  CHECK(r.shape == std::vector<int64_t>{5});
  CHECK(r.data == std::vector<float>{1, 2, 3, 4, 5});

  int64_t eight[8] = {1, 2, 1, 2, 1, 2, 1, 0};  // 8 dims, zero elements: data may be null
  REQUIRE(rg_npy_write_f32(p.c_str(), eight, 8, nullptr, err, sizeof err) == RG_OK);
  r = read(p);
  REQUIRE(r.rc == RG_OK);
  CHECK(r.shape.size() == 8);
  CHECK(r.data.empty());
}

TEST_CASE("npy: files as NumPy writes them") {
  TempDir t;
  std::string p = t.path("np.npy");
  std::vector<float> v = {0, 1, 2, 3, 4, 5};
  // np.save of np.arange(6, dtype=np.float32).reshape(2, 3): 128 bytes of preamble + header
  std::string want = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32_le(v));
  CHECK(want.size() == 128 + 24);
  write_bytes(p, want);
  Result r = read(p);
  REQUIRE(r.rc == RG_OK);
  CHECK(r.shape == std::vector<int64_t>{2, 3});
  CHECK(r.data == v);

  // version 2.0 (4-byte header length), keys in another order, odd spacing, Python 2 longs
  write_bytes(p, npy_file("{ 'shape':(2L,3L,) ,\"fortran_order\":False,'descr':'<f4' , }", f32_le(v), 2));
  r = read(p);
  REQUIRE_MESSAGE(r.rc == RG_OK, r.err);
  CHECK(r.shape == std::vector<int64_t>{2, 3});
  CHECK(r.data == v);

  // version 3.0, an old NumPy's 16-byte alignment (no padding requirement is enforced)
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n";
  std::string v3 = std::string("\x93NUMPY\x03\x00", 8) + static_cast<char>(h.size()) + std::string(3, '\0') + h + f32_le({7});
  write_bytes(p, v3);
  r = read(p);
  REQUIRE_MESSAGE(r.rc == RG_OK, r.err);
  CHECK(r.data == std::vector<float>{7});
}

TEST_CASE("npy: rejected headers name the problem") {
  TempDir t;
  CHECK(dict_error(t, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }")
            .find("dtype is '<f8', resgen reads float32 ('<f4')") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }").find("dtype is '>f4'") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '|f4', 'fortran_order': False, 'shape': (6,), }").find("dtype is '|f4'") != std::string::npos);
  CHECK(dict_error(t, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }").find("structured") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }").find("Fortran order") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3), }").find("fortran_order is not True or False") !=
        std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f32_le({1})).find("0-dimensional") !=
        std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }")
            .find("more than 8 dimensions") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }").find("negative dimension -2") !=
        std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }").find("too large") !=
        std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }")
            .find("too many elements") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }").find("shape is not a tuple") !=
        std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }").find("expected ',' or ')'") !=
        std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }").find("bad shape entry") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, }").find("no 'shape' key") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'shape': (6,), }").find("no 'fortran_order' key") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,), }").find("appears twice") !=
        std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}").find("unexpected key 'x'") !=
        std::string::npos);
  CHECK(dict_error(t, "{'descr' '<f4'}").find("expected ':' after 'descr'") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4' 'shape': (6,)}").find("expected ',' or '}'") != std::string::npos);
  CHECK(dict_error(t, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } x").find("unexpected text after the dict") !=
        std::string::npos);
  CHECK(dict_error(t, "['descr']").find("expected '{'") != std::string::npos);
  CHECK(dict_error(t, "{'descr: '<f4'}").find("bad header") != std::string::npos);
  CHECK(dict_error(t, "{'descr").find("expected a quoted key") != std::string::npos);
}

TEST_CASE("npy: broken files") {
  TempDir t;
  std::string p = t.path("x.npy");
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1024,), }";
  write_bytes(p, npy_file(dict, std::string(100, '\0')));
  Result r = read(p);
  CHECK(r.rc == RG_ERR_ARGUMENT);
  CHECK(r.err == "input '" + p + "': file is truncated: 4096 bytes of data expected, 100 present");

  // A shape of 2^62 bytes over 16 bytes of data: "truncated", with no 2^62-byte allocation
  // (the buffer grows only as data arrives; ASan would report the allocation).
  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1048576), }",
                          std::string(16, '\0')));
  r = read(p);
  CHECK(r.rc == RG_ERR_ARGUMENT);
  CHECK(r.err == "input '" + p + "': file is truncated: 4611686018427387904 bytes of data expected, 16 present");
  // More than the first 1 MiB step, less than announced: the growth path.
  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000,), }", std::string(3000000, '\1')));
  r = read(p);
  CHECK(r.err == "input '" + p + "': file is truncated: 4000000 bytes of data expected, 3000000 present");
  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000,), }", std::string(4000000, '\1')));
  r = read(p);
  CHECK(r.rc == RG_OK);
  CHECK(r.data.size() == 1000000);

  write_bytes(p, npy_file(dict, std::string(4096 + 3, '\0')));
  r = read(p);
  CHECK(r.rc == RG_ERR_ARGUMENT);
  CHECK(r.err.find("3 trailing bytes after the 4096 bytes of data") != std::string::npos);

  write_bytes(p, "PK\x03\x04 this is a zip file");
  r = read(p);
  CHECK(r.rc == RG_ERR_ARGUMENT);
  CHECK(r.err == "input '" + p + "': not a .npy file (bad magic)");
  write_bytes(p, "");
  CHECK(read(p).err.find("not a .npy file (bad magic)") != std::string::npos);
  write_bytes(p, std::string("\x93NUMPY\x01\x00\x40", 9));
  CHECK(read(p).err.find("file is truncated in its header") != std::string::npos);
  write_bytes(p, npy_file(dict, "").substr(0, 40));
  CHECK(read(p).err.find("file is truncated in its header (118 bytes announced)") != std::string::npos);
  write_bytes(p, std::string("\x93NUMPY\x04\x00\x10\x00", 10) + dict);
  CHECK(read(p).err.find("unsupported .npy version 4.0") != std::string::npos);
  write_bytes(p, std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12));
  CHECK(read(p).err.find("header length 2147483647 is implausibly large") != std::string::npos);

  std::string missing = t.path("missing.npy");
  r = read(missing);
  CHECK(r.rc == RG_ERR_IO);
  CHECK(r.err == "input '" + missing + "': cannot open: No such file or directory");
  r = read(t.dir.string());
  CHECK(r.rc == RG_ERR_IO);
  CHECK(r.err.find("cannot read") != std::string::npos);

  int64_t shape[8];
  int ndim;
  float* data;
  char err[128];
  CHECK(rg_npy_read_f32(nullptr, shape, &ndim, &data, err, sizeof err) == RG_ERR_ARGUMENT);
  CHECK(rg_npy_read_f32(p.c_str(), shape, &ndim, &data, nullptr, 0) != RG_OK);  // no message buffer: still safe
}

TEST_CASE("npy: writer errors") {
  TempDir t;
  char err[512] = "";
  int64_t shape[2] = {2, 2};
  float v[4] = {1, 2, 3, 4};
  std::string p = t.path("no/such/dir/out.npy");
  CHECK(rg_npy_write_f32(p.c_str(), shape, 2, v, err, sizeof err) == RG_ERR_IO);
  CHECK(std::string(err) == "output '" + p + "': cannot create: No such file or directory");
  CHECK(rg_npy_write_f32(t.path("o.npy").c_str(), shape, 0, v, err, sizeof err) == RG_ERR_ARGUMENT);
  CHECK(rg_npy_write_f32(t.path("o.npy").c_str(), shape, 9, v, err, sizeof err) == RG_ERR_ARGUMENT);
  CHECK(rg_npy_write_f32(t.path("o.npy").c_str(), shape, 2, nullptr, err, sizeof err) == RG_ERR_ARGUMENT);
  CHECK(std::strstr(err, "null data"));
  int64_t neg[2] = {2, -1};
  CHECK(rg_npy_write_f32(t.path("o.npy").c_str(), neg, 2, v, err, sizeof err) == RG_ERR_ARGUMENT);
  CHECK(std::strstr(err, "bad shape"));
  if (fs::exists("/dev/full")) {  // a full disk: the failure is reported, not silently truncated
    CHECK(rg_npy_write_f32("/dev/full", shape, 2, v, err, sizeof err) == RG_ERR_IO);
    CHECK(std::strstr(err, "write failed: No space left on device"));
  }
}

TEST_CASE("npy: header parser survives every prefix and corruption") {
  const std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3,), }  \n";
  int64_t shape[8];
  int ndim = 0;
  char what[256];
  REQUIRE(rg_npy_parse_header(h.data(), h.size(), shape, &ndim, what, sizeof what) == 1);
  CHECK(ndim == 2);
  for (size_t len = 0; len < h.size() - 3; len++) {
    std::vector<char> prefix(h.begin(), h.begin() + static_cast<long>(len));  // exact size: ASan sees overreads
    CHECK(rg_npy_parse_header(prefix.data(), prefix.size(), shape, &ndim, what, sizeof what) == 0);
  }
  const char values[] = {'\0', '\'', '"', '\\', '(', ')', ',', ':', '{', '}', '-', '9'};
  for (size_t i = 0; i < h.size(); i++)
    for (char c : values) {
      std::vector<char> g(h.begin(), h.end());
      g[i] = c;
      rg_npy_parse_header(g.data(), g.size(), shape, &ndim, what, sizeof what);
    }
}
