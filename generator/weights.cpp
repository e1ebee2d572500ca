// Weights at generation time: checked (generate --weights) and packed for embedding, with the
// generated runtime's own parser and packer, so both paths agree byte for byte.
#include <fmt/format.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fstream>
#include <vector>

#include "generator/emit.hpp"
#include "generator/error.hpp"
#include "generator/tables.hpp"

namespace resgen {
// The runtime's C-style code, in a namespace of its own (its system headers are included above).
namespace rt {
#include "generator/runtime/safetensors.inc"
#include "generator/runtime/pack.inc"
}  // namespace rt

namespace {

struct Loaded {
  uint8_t* data = nullptr;
  rt::rg_safetensors st{};
  ~Loaded() {
    rt::rg_safetensors_free(&st);
    std::free(data);
  }
};

void load(const std::string& path, Loaded& w) {
  char err[1024] = "";
  uint64_t size = 0;
  if (rt::rg_read_file(path.c_str(), &w.data, &size, err, sizeof err) != RG_OK) throw Error(err);
  if (rt::rg_safetensors_parse(w.data, size, &w.st, err, sizeof err) != RG_OK)
    throw Error(fmt::format("{}: {}", path, err));
}

}  // namespace

void check_weights_file(const Lowered& l, const std::string& path, bool allow_extra) {
  Tables t(l);
  Loaded w;
  load(path, w);
  char err[1024] = "";
  if (rt::rg_check_weights(&t.net, &w.st, allow_extra, err, sizeof err) != RG_OK)
    throw Error(fmt::format("{}: {}", path, err));
}

std::string pack_embedded_weights(const Lowered& l, const GenerateOptions& o, const std::string& dir) {
  Tables t(l);
  Loaded w;
  load(o.weights, w);
  std::vector<float> packed(static_cast<size_t>(l.packed_floats) + 16);
  char err[1024] = "";
  if (rt::rg_pack_weights(&t.net, &w.st, o.allow_extra_weights, packed.data(), err, sizeof err) != RG_OK)
    throw Error(fmt::format("{}: {}", o.weights, err));
  std::string bin = dir + "/weights.bin";
  std::ofstream(bin, std::ios::binary)
      .write(reinterpret_cast<const char*>(packed.data()), static_cast<std::streamsize>(packed.size() * sizeof(float)));
  return bin;
}

}  // namespace resgen
