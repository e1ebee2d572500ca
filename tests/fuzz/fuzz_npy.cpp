// libFuzzer harness for the .npy reader of `resgen run` (generator/runtime/npy.inc): the bytes
// become a file (a memfd, read through /proc/self/fd), the reader parses it, and an accepted
// file is checked against the bytes themselves: the shape's element count, the data length, and
// every float equal to the file's last bytes. It is then written back with rg_npy_write_f32 and
// read again: same shape, same bits. A rejected file must leave no data and give a message.
// Any violation aborts. tools/ci_reliability.sh builds and runs it:
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
//       -I. tests/fuzz/fuzz_npy.cpp -o fuzz_npy
//   ./fuzz_npy -max_total_time=60 -max_len=4096 tests/fuzz/corpus/npy
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "generator/runtime/rg_runtime.h"
#include "generator/runtime/npy.inc"

namespace {

void fail(const char* what, const char* detail) {
  fprintf(stderr, "fuzz_npy: invariant violated: %s (%s)\n", what, detail ? detail : "");
  abort();
}

// A memfd holding exactly `size` bytes; its path is /proc/self/fd/<fd>.
int file_of(const uint8_t* data, size_t size, char* path, size_t pathlen) {
  static int fd = -1;
  if (fd < 0 && (fd = memfd_create("fuzz_npy", 0)) < 0) fail("memfd_create", "");
  if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) fail("memfd write", "");
  snprintf(path, pathlen, "/proc/self/fd/%d", fd);
  return fd;
}

// The element count of an accepted shape: 0 if any dimension is 0 (the others may then be
// too large to multiply), else a product the reader has already bounded.
int64_t numel(const int64_t* shape, int ndim) {
  for (int i = 0; i < ndim; i++)
    if (shape[i] == 0) return 0;
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int out_fd = -1;
  char path[64], out_path[64], err[512] = "";
  int64_t shape[8], shape2[8];
  int ndim = -1, ndim2 = -1;
  float *x = reinterpret_cast<float*>(1), *y = nullptr;
  file_of(data, size, path, sizeof path);
  int rc = rg_npy_read_f32(path, shape, &ndim, &x, err, sizeof err);
  if (rc != RG_OK) {
    if (x || ndim != 0 || !err[0] || !strstr(err, path)) fail("a failure must leave no data and name the file", err);
    if (rc != RG_ERR_ARGUMENT && rc != RG_ERR_MEMORY) fail("a malformed file must be RG_ERR_ARGUMENT", err);
    return 0;
  }
  if (ndim < 1 || ndim > 8 || !x) fail("accepted a file without 1 to 8 dimensions or data", path);
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0) fail("accepted a negative dimension", path);
  int64_t n = numel(shape, ndim);
  // v1: 10-byte preamble, v2/v3: 12; the data ends the file and starts after the header.
  size_t pre = data[6] == 1 ? 10 : 12;
  size_t hlen = (size_t)data[8] | (size_t)data[9] << 8 | (pre == 12 ? (size_t)data[10] << 16 | (size_t)data[11] << 24 : 0);
  if (pre + hlen + (size_t)n * 4 != size) fail("header + data length differs from the file size", path);
  if (n && memcmp(x, data + size - (size_t)n * 4, (size_t)n * 4) != 0) fail("data differs from the file bytes", path);
  if (out_fd < 0 && (out_fd = memfd_create("fuzz_npy_out", 0)) < 0) fail("memfd_create", "");
  if (ftruncate(out_fd, 0) != 0) fail("memfd truncate", "");
  snprintf(out_path, sizeof out_path, "/proc/self/fd/%d", out_fd);
  if (rg_npy_write_f32(out_path, shape, ndim, x, err, sizeof err) != RG_OK) fail("writing back failed", err);
  if (rg_npy_read_f32(out_path, shape2, &ndim2, &y, err, sizeof err) != RG_OK) fail("reading back failed", err);
  if (ndim2 != ndim || memcmp(shape, shape2, sizeof(int64_t) * (size_t)ndim) != 0) fail("shape changed", path);
  if (n && memcmp(x, y, (size_t)n * 4) != 0) fail("data changed in the round trip", path);
  free(x);
  free(y);
  return 0;
}
