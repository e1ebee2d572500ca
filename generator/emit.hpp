// Emission: a lowered network -> lib<NET>.a + <NET>.h + <NET>.hpp in one folder.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "generator/lowered.hpp"

namespace resgen {

struct GenerateOptions {
  std::string out_dir;
  std::string target;               // a named Halide target (never "host")
  std::string schedule = "manual";  // manual | auto:<autoscheduler> | tuned[:DB]
  std::string weights;              // safetensors file to check (and embed with `embed`)
  bool embed = false;
  bool allow_extra_weights = false;
  int jobs = 0;                     // kernels compiled in parallel; 0 = one per core
  std::ostream* log = nullptr;      // progress lines, or none
};

// The plan a library is generated with: lower()'s, with outputs written over their residuals
// wherever every target's schedule allows it (schedule_allows_residual_in_place).
Lowered plan_for(const Lowered& lowered, const GenerateOptions& options);

// Writes the library, with plan_for's plan; throws resgen::Error naming what went wrong.
void generate_library(const Lowered& lowered, const GenerateOptions& options);

// The targets of a --target value: one, or a comma list (tried first to last at run time; the
// last is the baseline every machine running the library must support).
std::vector<std::string> split_targets(const std::string& target);

// Throws resgen::Error unless `target` is one Halide target, or a comma list of targets of one
// architecture and OS.
void check_target(const std::string& target);

// The C++ compiler (and flags) for code of `target`: $RESGEN_CXX if set (e.g. "g++
// -fsanitize=address,undefined"); else, for Linux, the system's c++ on the host's own
// architecture and Debian's cross compilers for ARM (aarch64-linux-gnu-g++,
// arm-linux-gnueabihf-g++); for Android, the NDK's clang++ found through $ANDROID_NDK_ROOT or
// $ANDROID_NDK_HOME, for API level $RESGEN_ANDROID_API (default 24). Throws resgen::Error when
// there is none for `target`.
std::string compiler_for(const std::string& target);

// This machine's features as a named target, e.g. x86-64-linux-avx512_skylake-...
std::string host_target();

// Parts of generate_library, each in its own file.
// gpu: "" for CPU libraries, else RG_GPU_CUDA, RG_GPU_OPENCL or RG_GPU_VULKAN (adds NET_run_device).
std::string c_header(const Lowered& l, const std::string& prefix, const std::string& gpu = "");
std::string cpp_header(const Lowered& l, const std::string& prefix);
void compile_kernels(const Lowered& l, const GenerateOptions& o, const std::string& dir);
std::string pack_embedded_weights(const Lowered& l, const GenerateOptions& o, const std::string& dir);
void check_weights_file(const Lowered& l, const std::string& path, bool allow_extra);

}  // namespace resgen
