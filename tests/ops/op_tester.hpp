// The shared part of the per-op tests: seeded data, layout conversions and a JIT-compiled
// kernel under test. Every LayerKind is built by hand as a Layer, lowered with define_kernel +
// schedule_cpu_manual, JIT-compiled for the host and run on seeded random data, then compared
// with a naive loop nest written from PyTorch's semantics (test_conv.cpp, test_pointwise.cpp).
//
// Reference data is NCHW (PyTorch's layout); conv and linear weights are PyTorch's
// [co][ci/groups][ky][kx] and [k][c*h*w]. The tests convert them explicitly into the kernels'
// layouts (NHWC activations = Halide dims (c, x, y, n); conv weights blocked or dense (co, ci, kx, ky); linear
// weights dense (k, c, x, y)), the same layouts generator/runtime/pack.inc produces, and read
// the output back from raw NHWC memory. Each tester (XNNPACK style) holds its parameters, and
// compiles once for all the batch sizes it runs.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "Halide.h"
#include "generator/kernel.hpp"
#include "generator/lowered.hpp"
#include "schedules/schedules.hpp"


// Internal linkage: each test file compiles its own copy.
namespace op_test {
namespace {

using resgen::Layer;
using resgen::LayerKind;
using resgen::Residual;
using resgen::Shape;

constexpr double kRelTol = 1e-4;  // |got - ref| <= kRelTol * max(1, |ref|)
// Winograd F(4x4, 3x3) rounds about ten times more than a direct sum (its transforms' coefficients
// reach 8 and 1/24); it is held to DESIGN.md's network tolerance per element instead.
constexpr double kWinograd4RelTol = 1e-3;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

const Halide::Target& jit_target() {
  static const Halide::Target t = Halide::get_jit_target_from_environment();
  return t;
}

Shape shape(int c, int h, int w) {
  Shape s;
  s.c = c, s.h = h, s.w = w;
  return s;
}

// ---- data ------------------------------------------------------------------------------------

// A tensor in PyTorch's NCHW layout.
template <typename T>
struct Nchw {
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<T> v;
  Nchw() = default;
  Nchw(int n_, int c_, int h_, int w_) : n(n_), c(c_), h(h_), w(w_), v(std::size_t(n_) * c_ * h_ * w_, T(0)) {}
  std::size_t index(int i, int ch, int y, int x) const { return ((std::size_t(i) * c + ch) * h + y) * w + x; }
  T at(int i, int ch, int y, int x) const { return v[index(i, ch, y, x)]; }
  T& at(int i, int ch, int y, int x) { return v[index(i, ch, y, x)]; }
};

struct Rng {
  std::mt19937 gen;
  explicit Rng(uint32_t seed) : gen(seed) {}
  void fill(std::vector<float>& v, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    for (float& f : v) f = d(gen);
  }
};

// NCHW -> the flat NHWC memory the kernels read ((n*H + y)*W + x)*C + c.
template <typename T>
std::vector<T> nhwc_of(const Nchw<T>& t) {
  std::vector<T> out(t.v.size());
  for (int i = 0; i < t.n; ++i)
    for (int ch = 0; ch < t.c; ++ch)
      for (int y = 0; y < t.h; ++y)
        for (int x = 0; x < t.w; ++x)
          out[((std::size_t(i) * t.h + y) * t.w + x) * t.c + ch] = t.at(i, ch, y, x);
  return out;
}

// A Halide buffer (c, x, y, n) over flat NHWC memory.
Halide::Buffer<float> nhwc_buffer(std::vector<float>& flat, int n, int c, int h, int w) {
  REQUIRE(flat.size() == std::size_t(n) * c * h * w);
  return Halide::Buffer<float>(flat.data(), {c, w, h, n});
}

// PyTorch conv weight [co][cig][ky][kx] -> the kernel's layout (generator/kernel.hpp): blocked
// (t, ci, kx, ky, co / 16) or dense (co, ci, kx, ky), first dimension innermost. Returns the
// packed values and a Halide buffer over them.
struct PackedConvWeights {
  std::vector<float> v;
  Halide::Buffer<float> buffer;
};

PackedConvWeights pack_conv_weights(const std::vector<float>& w, int co_n, int cig, int k, bool blocked) {
  const int B = resgen::kWeightBlock;
  PackedConvWeights p;
  p.v.assign(w.size(), kNaN);
  for (int co = 0; co < co_n; ++co)
    for (int ci = 0; ci < cig; ++ci)
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) {
          std::size_t at = blocked ? co % B + std::size_t(B) * (ci + std::size_t(cig) * (kx + std::size_t(k) * (ky + std::size_t(k) * (co / B))))
                                   : co + std::size_t(co_n) * (ci + std::size_t(cig) * (kx + std::size_t(k) * ky));
          p.v[at] = w[((std::size_t(co) * cig + ci) * k + ky) * k + kx];
        }
  p.buffer = blocked ? Halide::Buffer<float>(p.v.data(), {B, cig, k, k, co_n / B})
                     : Halide::Buffer<float>(p.v.data(), {co_n, cig, k, k});
  return p;
}

// PyTorch linear weight [k][c*h*w] (flatten order c, y, x) -> dense (k, c, x, y), k innermost.
std::vector<float> pack_linear_weights(const std::vector<float>& w, int K, int C, int H, int W) {
  std::vector<float> p(w.size(), kNaN);
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < C; ++c)
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          p[k + std::size_t(K) * (c + std::size_t(C) * (x + std::size_t(W) * y))] =
              w[std::size_t(k) * C * H * W + (std::size_t(c) * H + y) * W + x];
  return p;
}

// Compares kernel output (flat NHWC) with the reference (NCHW, double).
void check_close(const Nchw<double>& ref, const std::vector<float>& got, double rel_tol = kRelTol) {
  std::vector<double> want = nhwc_of(ref);
  REQUIRE(want.size() == got.size());
  std::size_t bad = 0, first = 0;
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    double err = std::fabs(double(got[i]) - want[i]);
    double tol = rel_tol * std::max(1.0, std::fabs(want[i]));
    if (!(err <= tol)) {
      if (bad++ == 0) first = i;
    }
    if (std::isnan(err)) worst = err;
    else if (!std::isnan(worst)) worst = std::max(worst, err);
  }
  std::ostringstream where;
  if (bad) {
    std::size_t i = first;
    int c = int(i % ref.c); i /= ref.c;
    int x = int(i % ref.w); i /= ref.w;
    int y = int(i % ref.h); i /= ref.h;
    where << bad << " of " << want.size() << " elements differ; first at (n=" << i << ", c=" << c
          << ", y=" << y << ", x=" << x << "): got " << got[first] << ", want " << want[first]
          << "; max abs err " << worst;
  }
  CHECK_MESSAGE(bad == 0, where.str());
}

// ---- the kernel under test --------------------------------------------------------------------

struct Compiled {
  Layer layer;
  resgen::KernelPipeline kp;
  Halide::Pipeline pipe;

  explicit Compiled(const Layer& l, const resgen::ConvKnobs& knobs = {})
      : layer(l), kp(resgen::define_kernel(l, resgen::conv_algorithm(l, jit_target(), knobs))) {
    resgen::schedule_cpu_manual(layer, kp, jit_target(), knobs);
    pipe = Halide::Pipeline(kp.output);
    pipe.compile_jit(jit_target());
  }

  std::vector<std::string> arg_names() const {
    std::vector<std::string> names;
    for (const Halide::Argument& a : kp.args) names.push_back(a.name);
    return names;
  }

  // Binds every ImageParam by name (each must be given, none left over) and realizes `out`.
  void realize(const std::map<std::string, Halide::Buffer<float>>& inputs, Halide::Buffer<float> out) {
    REQUIRE(inputs.size() == kp.params.size());
    for (Halide::ImageParam p : kp.params) {
      auto it = inputs.find(p.name());
      REQUIRE_MESSAGE(it != inputs.end(), "no buffer given for ImageParam " << p.name());
      p.set(it->second);
    }
    pipe.realize(out, jit_target());
  }
};

std::vector<std::string> expected_args(bool residual, bool params) {
  std::vector<std::string> a{"input"};
  if (residual) a.push_back("residual");
  if (params) a.insert(a.end(), {"weights", "bias"});
  return a;
}

std::string batches_str(const std::vector<int>& b) {
  std::string s;
  for (int v : b) s += (s.empty() ? "" : ",") + std::to_string(v);
  return s;
}

// Realizes and returns the Halide runtime error's message ("" when none was raised).
std::string realize_error(Compiled& k, const std::map<std::string, Halide::Buffer<float>>& args,
                          Halide::Buffer<float> out) {
  try {
    k.realize(args, out);
  } catch (const Halide::RuntimeError& e) {
    return e.what();
  }
  return "";
}

bool all_nan(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float f) { return std::isnan(f); });
}

}  // namespace
}  // namespace op_test
