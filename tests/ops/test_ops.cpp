// Per-op tests of the Halide kernels: every LayerKind, built by hand as a Layer, lowered with
// define_kernel + schedule_cpu_manual, JIT-compiled for the host and run on seeded random data,
// then compared with a naive loop nest written from PyTorch's semantics.
//
// Reference data is NCHW (PyTorch's layout); conv and linear weights are PyTorch's
// [co][ci/groups][ky][kx] and [k][c*h*w]. The test converts them explicitly into the kernels'
// layouts (NHWC activations = Halide dims (c, x, y, n); conv weights dense (co, ci, kx, ky); linear
// weights dense (k, c, x, y)), the same layouts generator/runtime/pack.inc produces, and reads
// the output back from raw NHWC memory. Each tester (XNNPACK style) holds its parameters, and
// compiles once for all the batch sizes it runs.
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

namespace {

using resgen::Layer;
using resgen::LayerKind;
using resgen::Residual;
using resgen::Shape;

constexpr double kRelTol = 1e-4;  // |got - ref| <= kRelTol * max(1, |ref|)
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

// PyTorch conv weight [co][cig][ky][kx] -> dense (co, ci, kx, ky), co innermost (pack.inc's layout).
std::vector<float> pack_conv_weights(const std::vector<float>& w, int co_n, int cig, int k) {
  std::vector<float> p(w.size(), kNaN);
  for (int co = 0; co < co_n; ++co)
    for (int ci = 0; ci < cig; ++ci)
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx)
          p[co + std::size_t(co_n) * (ci + std::size_t(cig) * (kx + std::size_t(k) * ky))] =
              w[((std::size_t(co) * cig + ci) * k + ky) * k + kx];
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
void check_close(const Nchw<double>& ref, const std::vector<float>& got) {
  std::vector<double> want = nhwc_of(ref);
  REQUIRE(want.size() == got.size());
  std::size_t bad = 0, first = 0;
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    double err = std::fabs(double(got[i]) - want[i]);
    double tol = kRelTol * std::max(1.0, std::fabs(want[i]));
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

  explicit Compiled(const Layer& l) : layer(l), kp(resgen::define_kernel(l)) {
    resgen::schedule_cpu_manual(layer, kp, jit_target());
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

// ---- conv ------------------------------------------------------------------------------------

struct ConvTester {
  int in_c_ = 1, h_ = 1, w_ = 1, out_c_ = 1, kernel_ = 1, stride_ = 1, padding_ = 0, groups_ = 1;
  bool relu_ = false;
  Residual residual_ = Residual::none;
  int res_c_ = 0, res_h_ = 0, res_w_ = 0, res_stride_ = 1, res_pad_before_ = 0;
  std::vector<int> batches_{1};
  uint32_t seed_ = 1;

  ConvTester& input(int c, int h, int w) { in_c_ = c, h_ = h, w_ = w; return *this; }
  ConvTester& output_channels(int c) { out_c_ = c; return *this; }
  ConvTester& kernel(int k) { kernel_ = k; return *this; }
  ConvTester& stride(int s) { stride_ = s; return *this; }
  ConvTester& padding(int p) { padding_ = p; return *this; }
  ConvTester& groups(int g) { groups_ = g; return *this; }
  ConvTester& relu(bool r = true) { relu_ = r; return *this; }
  ConvTester& batches(std::vector<int> b) { batches_ = std::move(b); return *this; }
  ConvTester& seed(uint32_t s) { seed_ = s; return *this; }
  ConvTester& residual_same() { residual_ = Residual::same; return *this; }
  // Option A shortcut fused into the epilogue: + r(c - pad_before, x*stride, y*stride), zero
  // outside r's channels (PyTorch: F.pad(r[:, :, ::s, ::s], (0, 0, 0, 0, before, after))).
  ConvTester& residual_subsample_pad(int c, int h, int w, int stride, int pad_before) {
    residual_ = Residual::subsample_pad;
    res_c_ = c, res_h_ = h, res_w_ = w, res_stride_ = stride, res_pad_before_ = pad_before;
    return *this;
  }

  int out_h() const { return (h_ + 2 * padding_ - kernel_) / stride_ + 1; }
  int out_w() const { return (w_ + 2 * padding_ - kernel_) / stride_ + 1; }
  int cig() const { return in_c_ / groups_; }
  int cog() const { return out_c_ / groups_; }

  Layer layer() const {
    Layer l;
    l.kind = LayerKind::conv;
    l.name = "conv";
    l.in = shape(in_c_, h_, w_);
    l.out = shape(out_c_, out_h(), out_w());
    l.kernel = kernel_, l.stride = stride_, l.padding = padding_, l.groups = groups_;
    l.relu = relu_;
    l.residual = residual_;
    if (residual_ == Residual::same) l.res = l.out;
    if (residual_ == Residual::subsample_pad) {
      l.res = shape(res_c_, res_h_, res_w_);
      l.res_stride = res_stride_, l.res_pad_before = res_pad_before_;
    }
    return l;
  }

  std::string describe() const {
    std::ostringstream s;
    s << "conv " << in_c_ << "x" << h_ << "x" << w_ << " -> " << out_c_ << "x" << out_h() << "x" << out_w()
      << " k" << kernel_ << " s" << stride_ << " p" << padding_ << " g" << groups_ << (relu_ ? " relu" : "");
    if (residual_ == Residual::same) s << " +residual";
    if (residual_ == Residual::subsample_pad)
      s << " +residual subsample_pad(" << res_c_ << "x" << res_h_ << "x" << res_w_ << " s" << res_stride_
        << " before " << res_pad_before_ << ")";
    s << " batches " << batches_str(batches_);
    return s.str();
  }

  void test() const {
    INFO(describe());
    REQUIRE(in_c_ % groups_ == 0);
    REQUIRE(out_c_ % groups_ == 0);
    REQUIRE(out_h() >= 1);
    REQUIRE(out_w() >= 1);
    if (residual_ == Residual::subsample_pad) {  // the add's operands must agree, as in PyTorch
      REQUIRE((res_h_ + res_stride_ - 1) / res_stride_ == out_h());
      REQUIRE((res_w_ + res_stride_ - 1) / res_stride_ == out_w());
      REQUIRE(res_pad_before_ + res_c_ <= out_c_);
    }
    const int K = kernel_, S = stride_, P = padding_, OH = out_h(), OW = out_w();
    Compiled k(layer());
    CHECK(k.arg_names() == expected_args(residual_ != Residual::none, true));

    for (int batch : batches_) {
      Rng rng(seed_ * 1000003u + uint32_t(batch));
      Nchw<float> in(batch, in_c_, h_, w_);
      rng.fill(in.v);
      std::vector<float> w(std::size_t(out_c_) * cig() * K * K), b(out_c_);
      rng.fill(w);
      rng.fill(b);
      Nchw<float> res;
      if (residual_ == Residual::same) res = Nchw<float>(batch, out_c_, OH, OW);
      if (residual_ == Residual::subsample_pad) res = Nchw<float>(batch, res_c_, res_h_, res_w_);
      rng.fill(res.v);

      // Reference: torch.nn.functional.conv2d(in, w, b, stride, padding, groups=groups)
      // [+ residual] [then relu], accumulated in double.
      Nchw<double> ref(batch, out_c_, OH, OW);
      for (int n = 0; n < batch; ++n)
        for (int co = 0; co < out_c_; ++co) {
          int g = co / cog();
          for (int oy = 0; oy < OH; ++oy)
            for (int ox = 0; ox < OW; ++ox) {
              double acc = b[co];
              for (int ci = 0; ci < cig(); ++ci)
                for (int ky = 0; ky < K; ++ky)
                  for (int kx = 0; kx < K; ++kx) {
                    int iy = oy * S + ky - P, ix = ox * S + kx - P;
                    if (iy < 0 || iy >= h_ || ix < 0 || ix >= w_) continue;
                    acc += double(w[((std::size_t(co) * cig() + ci) * K + ky) * K + kx]) *
                           double(in.at(n, g * cig() + ci, iy, ix));
                  }
              if (residual_ == Residual::same) acc += res.at(n, co, oy, ox);
              if (residual_ == Residual::subsample_pad) {
                int rc = co - res_pad_before_;
                if (rc >= 0 && rc < res_c_) acc += res.at(n, rc, oy * res_stride_, ox * res_stride_);
              }
              if (relu_) acc = std::max(acc, 0.0);
              ref.at(n, co, oy, ox) = acc;
            }
        }

      std::vector<float> in_flat = nhwc_of(in), res_flat = nhwc_of(res);
      std::vector<float> w_packed = pack_conv_weights(w, out_c_, cig(), K);
      std::vector<float> out(std::size_t(batch) * out_c_ * OH * OW, kNaN);
      std::map<std::string, Halide::Buffer<float>> args{
          {"input", nhwc_buffer(in_flat, batch, in_c_, h_, w_)},
          {"weights", Halide::Buffer<float>(w_packed.data(), {out_c_, cig(), K, K})},
          {"bias", Halide::Buffer<float>(b.data(), {out_c_})}};
      if (residual_ != Residual::none) args["residual"] = nhwc_buffer(res_flat, batch, res.c, res.h, res.w);
      k.realize(args, Halide::Buffer<float>(out.data(), {out_c_, OW, OH, batch}));
      INFO("batch " << batch);
      check_close(ref, out);
    }
  }
};

// ---- affine, relu, add ------------------------------------------------------------------------

struct ElementwiseTester {
  LayerKind kind_;
  int c_ = 1, h_ = 1, w_ = 1;
  bool relu_ = false;
  std::vector<int> batches_{1};
  uint32_t seed_ = 2;

  explicit ElementwiseTester(LayerKind k) : kind_(k) {}
  ElementwiseTester& input(int c, int h, int w) { c_ = c, h_ = h, w_ = w; return *this; }
  ElementwiseTester& relu(bool r = true) { relu_ = r; return *this; }
  ElementwiseTester& batches(std::vector<int> b) { batches_ = std::move(b); return *this; }
  ElementwiseTester& seed(uint32_t s) { seed_ = s; return *this; }

  void test() const {
    std::ostringstream d;
    d << resgen::layer_kind_name(kind_) << " " << c_ << "x" << h_ << "x" << w_ << (relu_ ? " relu" : "")
      << " batches " << batches_str(batches_);
    INFO(d.str());
    Layer l;
    l.kind = kind_;
    l.name = "elementwise";
    l.in = l.out = shape(c_, h_, w_);
    l.relu = relu_;
    if (kind_ == LayerKind::add) l.residual = Residual::same, l.res = l.out;
    Compiled k(l);
    CHECK(k.arg_names() == expected_args(kind_ == LayerKind::add, kind_ == LayerKind::affine));

    for (int batch : batches_) {
      Rng rng(seed_ * 1000003u + uint32_t(batch));
      Nchw<float> in(batch, c_, h_, w_), other(batch, c_, h_, w_);
      std::vector<float> scale(c_), shift(c_);
      rng.fill(in.v);
      rng.fill(other.v);
      rng.fill(scale, -2.0f, 2.0f);
      rng.fill(shift);

      Nchw<double> ref(batch, c_, h_, w_);
      for (int n = 0; n < batch; ++n)
        for (int c = 0; c < c_; ++c)
          for (int y = 0; y < h_; ++y)
            for (int x = 0; x < w_; ++x) {
              double v = in.at(n, c, y, x);
              // BatchNorm2d in eval mode with its statistics folded: x * scale + shift.
              if (kind_ == LayerKind::affine) v = v * scale[c] + shift[c];
              if (kind_ == LayerKind::add) v += other.at(n, c, y, x);
              if (kind_ == LayerKind::relu || relu_) v = std::max(v, 0.0);
              ref.at(n, c, y, x) = v;
            }

      std::vector<float> in_flat = nhwc_of(in), other_flat = nhwc_of(other);
      std::vector<float> out(in.v.size(), kNaN);
      std::map<std::string, Halide::Buffer<float>> args{{"input", nhwc_buffer(in_flat, batch, c_, h_, w_)}};
      if (kind_ == LayerKind::add) args["residual"] = nhwc_buffer(other_flat, batch, c_, h_, w_);
      if (kind_ == LayerKind::affine) {
        args["weights"] = Halide::Buffer<float>(scale.data(), {c_});
        args["bias"] = Halide::Buffer<float>(shift.data(), {c_});
      }
      k.realize(args, Halide::Buffer<float>(out.data(), {c_, w_, h_, batch}));
      INFO("batch " << batch);
      check_close(ref, out);
    }
  }
};

// ---- pad_channels (option A shortcut, unfused) -----------------------------------------------

struct PadChannelsTester {
  int c_ = 1, h_ = 1, w_ = 1, out_c_ = 1, stride_ = 1, pad_before_ = 0;
  std::vector<int> batches_{1};
  uint32_t seed_ = 3;

  PadChannelsTester& input(int c, int h, int w) { c_ = c, h_ = h, w_ = w; return *this; }
  PadChannelsTester& output_channels(int c) { out_c_ = c; return *this; }
  PadChannelsTester& stride(int s) { stride_ = s; return *this; }
  PadChannelsTester& pad_before(int p) { pad_before_ = p; return *this; }
  PadChannelsTester& batches(std::vector<int> b) { batches_ = std::move(b); return *this; }

  void test() const {
    // PyTorch: F.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, before, out_c - c - before)).
    const int OH = (h_ + stride_ - 1) / stride_, OW = (w_ + stride_ - 1) / stride_;
    std::ostringstream d;
    d << "pad_channels " << c_ << "x" << h_ << "x" << w_ << " -> " << out_c_ << "x" << OH << "x" << OW << " s"
      << stride_ << " before " << pad_before_ << " batches " << batches_str(batches_);
    INFO(d.str());
    Layer l;
    l.kind = LayerKind::pad_channels;
    l.name = "shortcut";
    l.in = shape(c_, h_, w_);
    l.out = shape(out_c_, OH, OW);
    l.stride = stride_;
    l.res_pad_before = pad_before_;
    Compiled k(l);
    CHECK(k.arg_names() == expected_args(false, false));

    for (int batch : batches_) {
      Rng rng(seed_ * 1000003u + uint32_t(batch));
      Nchw<float> in(batch, c_, h_, w_);
      rng.fill(in.v);
      Nchw<double> ref(batch, out_c_, OH, OW);  // zeros
      for (int n = 0; n < batch; ++n)
        for (int c = 0; c < c_; ++c)
          for (int y = 0; y < OH; ++y)
            for (int x = 0; x < OW; ++x) ref.at(n, c + pad_before_, y, x) = in.at(n, c, y * stride_, x * stride_);

      std::vector<float> in_flat = nhwc_of(in);
      std::vector<float> out(std::size_t(batch) * out_c_ * OH * OW, kNaN);
      k.realize({{"input", nhwc_buffer(in_flat, batch, c_, h_, w_)}},
                Halide::Buffer<float>(out.data(), {out_c_, OW, OH, batch}));
      INFO("batch " << batch);
      check_close(ref, out);
    }
  }
};

// ---- max_pool, avg_pool -----------------------------------------------------------------------

struct PoolTester {
  LayerKind kind_;
  int c_ = 1, h_ = 1, w_ = 1, kernel_ = 2, stride_ = 2, padding_ = 0;
  float lo_ = -1.0f, hi_ = 1.0f;
  std::vector<int> batches_{1};
  uint32_t seed_ = 4;

  explicit PoolTester(LayerKind k) : kind_(k) {}
  PoolTester& input(int c, int h, int w) { c_ = c, h_ = h, w_ = w; return *this; }
  PoolTester& kernel(int k) { kernel_ = k; return *this; }
  PoolTester& stride(int s) { stride_ = s; return *this; }
  PoolTester& padding(int p) { padding_ = p; return *this; }
  PoolTester& input_range(float lo, float hi) { lo_ = lo, hi_ = hi; return *this; }
  PoolTester& batches(std::vector<int> b) { batches_ = std::move(b); return *this; }

  int out_h() const { return (h_ + 2 * padding_ - kernel_) / stride_ + 1; }
  int out_w() const { return (w_ + 2 * padding_ - kernel_) / stride_ + 1; }

  void test() const {
    const int K = kernel_, S = stride_, P = padding_, OH = out_h(), OW = out_w();
    const bool is_max = kind_ == LayerKind::max_pool;
    std::ostringstream d;
    d << resgen::layer_kind_name(kind_) << " " << c_ << "x" << h_ << "x" << w_ << " -> " << OH << "x" << OW << " k"
      << K << " s" << S << " p" << P << " inputs in [" << lo_ << ", " << hi_ << "] batches " << batches_str(batches_);
    INFO(d.str());
    Layer l;
    l.kind = kind_;
    l.name = "pool";
    l.in = shape(c_, h_, w_);
    l.out = shape(c_, OH, OW);
    l.kernel = K, l.stride = S, l.padding = P;
    Compiled k(l);
    CHECK(k.arg_names() == expected_args(false, false));

    for (int batch : batches_) {
      Rng rng(seed_ * 1000003u + uint32_t(batch));
      Nchw<float> in(batch, c_, h_, w_);
      rng.fill(in.v, lo_, hi_);
      Nchw<double> ref(batch, c_, OH, OW);
      for (int n = 0; n < batch; ++n)
        for (int c = 0; c < c_; ++c)
          for (int oy = 0; oy < OH; ++oy)
            for (int ox = 0; ox < OW; ++ox) {
              // As ATen: the window starts at o*s - p; max ignores padding (-inf); avg with
              // count_include_pad=True divides by the window clipped to the padded input.
              int hs = oy * S - P, ws = ox * S - P;
              int he = std::min(hs + K, h_ + P), we = std::min(ws + K, w_ + P);
              int pool_size = (he - hs) * (we - ws);
              int y0 = std::max(hs, 0), x0 = std::max(ws, 0), y1 = std::min(he, h_), x1 = std::min(we, w_);
              double m = -INFINITY, s = 0;
              for (int y = y0; y < y1; ++y)
                for (int x = x0; x < x1; ++x) {
                  m = std::max(m, double(in.at(n, c, y, x)));
                  s += in.at(n, c, y, x);
                }
              ref.at(n, c, oy, ox) = is_max ? m : s / pool_size;
            }

      std::vector<float> in_flat = nhwc_of(in);
      std::vector<float> out(std::size_t(batch) * c_ * OH * OW, kNaN);
      k.realize({{"input", nhwc_buffer(in_flat, batch, c_, h_, w_)}},
                Halide::Buffer<float>(out.data(), {c_, OW, OH, batch}));
      INFO("batch " << batch);
      check_close(ref, out);
    }
  }
};

// ---- global_avg_pool --------------------------------------------------------------------------

struct GlobalAvgPoolTester {
  int c_ = 1, h_ = 1, w_ = 1;
  std::vector<int> batches_{1};
  uint32_t seed_ = 5;

  GlobalAvgPoolTester& input(int c, int h, int w) { c_ = c, h_ = h, w_ = w; return *this; }
  GlobalAvgPoolTester& batches(std::vector<int> b) { batches_ = std::move(b); return *this; }

  void test() const {
    std::ostringstream d;
    d << "global_avg_pool " << c_ << "x" << h_ << "x" << w_ << " batches " << batches_str(batches_);
    INFO(d.str());
    Layer l;
    l.kind = LayerKind::global_avg_pool;
    l.name = "avgpool";
    l.in = shape(c_, h_, w_);
    l.out = shape(c_, 1, 1);
    Compiled k(l);
    CHECK(k.arg_names() == expected_args(false, false));

    for (int batch : batches_) {
      Rng rng(seed_ * 1000003u + uint32_t(batch));
      Nchw<float> in(batch, c_, h_, w_);
      rng.fill(in.v);
      Nchw<double> ref(batch, c_, 1, 1);  // adaptive_avg_pool2d(x, 1)
      for (int n = 0; n < batch; ++n)
        for (int c = 0; c < c_; ++c) {
          double s = 0;
          for (int y = 0; y < h_; ++y)
            for (int x = 0; x < w_; ++x) s += in.at(n, c, y, x);
          ref.at(n, c, 0, 0) = s / (h_ * w_);
        }
      std::vector<float> in_flat = nhwc_of(in);
      std::vector<float> out(std::size_t(batch) * c_, kNaN);
      k.realize({{"input", nhwc_buffer(in_flat, batch, c_, h_, w_)}},
                Halide::Buffer<float>(out.data(), {c_, 1, 1, batch}));
      INFO("batch " << batch);
      check_close(ref, out);
    }
  }
};

// ---- linear -----------------------------------------------------------------------------------

struct LinearTester {
  int c_ = 1, h_ = 1, w_ = 1, out_ = 1;
  bool relu_ = false;
  std::vector<int> batches_{1};
  uint32_t seed_ = 6;

  // The unflattened input (C, H, W); PyTorch's torch.flatten(x, 1) order is c, y, x.
  LinearTester& input(int c, int h, int w) { c_ = c, h_ = h, w_ = w; return *this; }
  LinearTester& output_features(int k) { out_ = k; return *this; }
  LinearTester& relu(bool r = true) { relu_ = r; return *this; }
  LinearTester& batches(std::vector<int> b) { batches_ = std::move(b); return *this; }

  void test() const {
    const int C = c_, H = h_, W = w_, K = out_, F = C * H * W;
    std::ostringstream d;
    d << "linear " << C << "x" << H << "x" << W << " -> " << K << (relu_ ? " relu" : "") << " batches "
      << batches_str(batches_);
    INFO(d.str());
    Layer l;
    l.kind = LayerKind::linear;
    l.name = "fc";
    l.in = shape(C, H, W);
    l.out = shape(K, 1, 1);
    l.relu = relu_;
    Compiled k(l);
    CHECK(k.arg_names() == expected_args(false, true));

    for (int batch : batches_) {
      Rng rng(seed_ * 1000003u + uint32_t(batch));
      Nchw<float> in(batch, C, H, W);
      std::vector<float> w(std::size_t(K) * F), b(K);
      rng.fill(in.v);
      rng.fill(w);
      rng.fill(b);
      Nchw<double> ref(batch, K, 1, 1);  // F.linear(torch.flatten(x, 1), w, b)
      for (int n = 0; n < batch; ++n)
        for (int k2 = 0; k2 < K; ++k2) {
          double acc = b[k2];
          for (int f = 0; f < F; ++f) acc += double(w[std::size_t(k2) * F + f]) * double(in.v[std::size_t(n) * F + f]);
          ref.at(n, k2, 0, 0) = relu_ ? std::max(acc, 0.0) : acc;
        }
      std::vector<float> in_flat = nhwc_of(in);
      std::vector<float> w_packed = pack_linear_weights(w, K, C, H, W);
      std::vector<float> out(std::size_t(batch) * K, kNaN);  // logits, row-major N x K
      k.realize({{"input", nhwc_buffer(in_flat, batch, C, H, W)},
                 {"weights", Halide::Buffer<float>(w_packed.data(), {K, C, W, H})},
                 {"bias", Halide::Buffer<float>(b.data(), {K})}},
                Halide::Buffer<float>(out.data(), {K, batch}));
      INFO("batch " << batch);
      check_close(ref, out);
    }
  }
};

// ---- to_nhwc ----------------------------------------------------------------------------------

struct ToNhwcTester {
  int c_ = 1, h_ = 1, w_ = 1;
  std::vector<int> batches_{1};
  uint32_t seed_ = 7;

  ToNhwcTester& input(int c, int h, int w) { c_ = c, h_ = h, w_ = w; return *this; }
  ToNhwcTester& batches(std::vector<int> b) { batches_ = std::move(b); return *this; }

  void test() const {
    std::ostringstream d;
    d << "to_nhwc " << c_ << "x" << h_ << "x" << w_ << " batches " << batches_str(batches_);
    INFO(d.str());
    Layer l;
    l.kind = LayerKind::to_nhwc;
    l.name = "input";
    l.in = l.out = shape(c_, h_, w_);
    Compiled k(l);
    CHECK(k.arg_names() == expected_args(false, false));

    for (int batch : batches_) {
      Rng rng(seed_ * 1000003u + uint32_t(batch));
      Nchw<float> in(batch, c_, h_, w_);
      rng.fill(in.v);
      Nchw<double> ref(batch, c_, h_, w_);
      for (std::size_t i = 0; i < in.v.size(); ++i) ref.v[i] = in.v[i];
      std::vector<float> out(in.v.size(), kNaN);
      // The network input as the caller hands it over: raw NCHW memory, Halide dims (x, y, c, n).
      k.realize({{"input", Halide::Buffer<float>(in.v.data(), {w_, h_, c_, batch})}},
                Halide::Buffer<float>(out.data(), {c_, w_, h_, batch}));
      INFO("batch " << batch);
      check_close(ref, out);
    }
  }
};

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

// ============================================================================================
// conv
// ============================================================================================

TEST_CASE("conv: 1x1 spatial") {
  ConvTester().input(3, 1, 1).output_channels(5).kernel(1).batches({1, 3}).test();
  // A 3x3 kernel with padding 1 on a 1x1 image: only the centre tap is inside.
  ConvTester().input(10, 1, 1).output_channels(17).kernel(3).padding(1).relu().test();
  // Stride 2 on a 1x1 image (a stride-2 3x3 conv at the end of a deep stem).
  ConvTester().input(17, 1, 1).output_channels(10).kernel(3).stride(2).padding(1).test();
}

TEST_CASE("conv: odd spatial sizes, padding 0/1/3, kernel 1/3/7") {
  ConvTester().input(3, 7, 5).output_channels(10).kernel(3).padding(1).relu().test();
  ConvTester().input(5, 7, 5).output_channels(3).kernel(3).padding(0).test();
  ConvTester().input(5, 13, 11).output_channels(17).kernel(1).padding(0).batches({1, 3}).test();
  // Padding wider than the kernel: the border rows / columns of the output see only bias.
  ConvTester().input(3, 5, 4).output_channels(5).kernel(3).padding(3).test();
  ConvTester().input(5, 9, 7).output_channels(1).kernel(7).padding(3).test();
  ConvTester().input(1, 5, 3).output_channels(1).kernel(3).padding(1).relu().test();
  // Rows narrower / longer than the register tile.
  ConvTester().input(3, 3, 13).output_channels(17).kernel(3).padding(1).test();
  ConvTester().input(10, 13, 1).output_channels(3).kernel(3).padding(1).test();
  ConvTester().input(48, 7, 7).output_channels(48).kernel(3).padding(1).relu().batches({1, 3}).test();
}

TEST_CASE("conv: stride 2") {
  // ResNet stem shape at a small odd size: 7x7 s2 p3.
  ConvTester().input(3, 13, 11).output_channels(48).kernel(7).stride(2).padding(3).relu().batches({1, 3}).test();
  ConvTester().input(17, 7, 7).output_channels(5).kernel(3).stride(2).padding(1).test();
  ConvTester().input(10, 7, 5).output_channels(17).kernel(1).stride(2).padding(0).test();  // downsample
  ConvTester().input(5, 9, 6).output_channels(10).kernel(3).stride(2).padding(0).relu().test();
}

TEST_CASE("conv: groups") {
  ConvTester().input(10, 7, 5).output_channels(10).kernel(3).padding(1).groups(2).relu().test();
  ConvTester().input(48, 9, 7).output_channels(48).kernel(3).stride(2).padding(1).groups(4).test();
  ConvTester().input(4, 5, 5).output_channels(8).kernel(1).groups(4).batches({1, 3}).test();
  // Depthwise (groups == channels), and with a channel multiplier of 2.
  ConvTester().input(17, 7, 5).output_channels(17).kernel(3).padding(1).groups(17).test();
  ConvTester().input(48, 6, 6).output_channels(48).kernel(3).stride(2).padding(1).groups(48).relu().test();
  ConvTester().input(5, 7, 7).output_channels(10).kernel(3).stride(2).padding(1).groups(5).test();
  // ResNeXt-like: 4 channels in and out per group.
  ConvTester().input(32, 7, 5).output_channels(32).kernel(3).padding(1).groups(8).relu().batches({1, 3}).test();
  ConvTester().input(16, 9, 9).output_channels(16).kernel(3).stride(2).padding(1).groups(4).test();
}

TEST_CASE("conv: relu off keeps negative outputs; bias alone") {
  ConvTester().input(48, 13, 11).output_channels(3).kernel(1).batches({3}).test();
  ConvTester().input(17, 5, 5).output_channels(5).kernel(3).padding(1).relu(false).test();
}

TEST_CASE("conv: fused residual (same)") {
  ConvTester().input(17, 7, 5).output_channels(17).kernel(3).padding(1).relu().residual_same().batches({1, 3}).test();
  ConvTester().input(10, 5, 3).output_channels(48).kernel(1).residual_same().test();  // bottleneck expand
  ConvTester().input(1, 1, 1).output_channels(1).kernel(3).padding(1).relu().residual_same().test();
}

TEST_CASE("conv: fused residual (subsample_pad, option A)") {
  // CIFAR ResNet: the block's second conv at 4x3, shortcut from the block input 5x7x5 subsampled
  // by 2 and padded 2 before / 3 after.
  ConvTester()
      .input(10, 4, 3)
      .output_channels(10)
      .kernel(3)
      .padding(1)
      .relu()
      .residual_subsample_pad(5, 7, 5, 2, 2)
      .batches({1, 3})
      .test();
  // Channels only (stride 1), pad 7 before, 7 after.
  ConvTester().input(5, 6, 6).output_channels(17).kernel(1).residual_subsample_pad(3, 6, 6, 1, 7).test();
  // The typical symmetric case 16 -> 32 at 8x8 -> 4x4, relu off.
  ConvTester().input(32, 4, 4).output_channels(32).kernel(3).padding(1).residual_subsample_pad(16, 8, 8, 2, 8).test();
  // Shortcut channels at the top only (pad_before == out_c - res_c).
  ConvTester().input(3, 3, 3).output_channels(5).kernel(3).padding(1).relu().residual_subsample_pad(2, 5, 5, 2, 3).test();
}

// ============================================================================================
// elementwise
// ============================================================================================

TEST_CASE("affine") {
  ElementwiseTester(LayerKind::affine).input(1, 1, 1).test();
  ElementwiseTester(LayerKind::affine).input(5, 7, 5).relu().batches({1, 3}).test();
  ElementwiseTester(LayerKind::affine).input(17, 3, 3).test();
  ElementwiseTester(LayerKind::affine).input(48, 5, 3).relu().test();
}

TEST_CASE("relu") {
  ElementwiseTester(LayerKind::relu).input(3, 7, 5).batches({1, 3}).test();
  ElementwiseTester(LayerKind::relu).input(17, 1, 1).test();
}

TEST_CASE("add") {
  ElementwiseTester(LayerKind::add).input(5, 7, 5).test();
  ElementwiseTester(LayerKind::add).input(48, 3, 5).relu().batches({1, 3}).test();
  ElementwiseTester(LayerKind::add).input(10, 1, 1).relu().test();
}

TEST_CASE("pad_channels") {
  PadChannelsTester().input(5, 7, 5).output_channels(10).stride(2).pad_before(2).batches({1, 3}).test();
  PadChannelsTester().input(3, 4, 4).output_channels(5).stride(1).pad_before(1).test();
  PadChannelsTester().input(16, 8, 8).output_channels(32).stride(2).pad_before(8).test();
  PadChannelsTester().input(1, 1, 1).output_channels(3).stride(2).pad_before(0).test();
}

// ============================================================================================
// pooling
// ============================================================================================

TEST_CASE("max_pool") {
  // All inputs negative: a padding read as 0 instead of -inf would win at the borders.
  PoolTester(LayerKind::max_pool).input(5, 7, 7).kernel(3).stride(2).padding(1).input_range(-10, -0.5f).batches({1, 3}).test();
  PoolTester(LayerKind::max_pool).input(17, 13, 11).kernel(3).stride(2).padding(1).input_range(-10, -0.5f).test();
  PoolTester(LayerKind::max_pool).input(48, 1, 1).kernel(3).stride(2).padding(1).input_range(-10, -0.5f).test();
  PoolTester(LayerKind::max_pool).input(3, 7, 5).kernel(2).stride(2).padding(0).batches({1, 3}).test();
  PoolTester(LayerKind::max_pool).input(10, 6, 4).kernel(2).stride(2).padding(0).input_range(-10, -0.5f).test();
}

TEST_CASE("avg_pool (count_include_pad=True)") {
  PoolTester(LayerKind::avg_pool).input(10, 5, 7).kernel(3).stride(1).padding(1).batches({1, 3}).test();
  PoolTester(LayerKind::avg_pool).input(17, 7, 7).kernel(3).stride(2).padding(1).test();
  PoolTester(LayerKind::avg_pool).input(5, 6, 4).kernel(2).stride(2).padding(0).test();
  PoolTester(LayerKind::avg_pool).input(3, 7, 5).kernel(2).stride(2).padding(0).test();  // odd: last row/col dropped
}

TEST_CASE("global_avg_pool") {
  GlobalAvgPoolTester().input(1, 1, 1).test();
  GlobalAvgPoolTester().input(17, 7, 5).batches({1, 3}).test();
  GlobalAvgPoolTester().input(48, 4, 4).test();
  GlobalAvgPoolTester().input(10, 13, 11).batches({3}).test();
}

// ============================================================================================
// linear, to_nhwc
// ============================================================================================

TEST_CASE("linear") {
  LinearTester().input(48, 1, 1).output_features(10).batches({1, 3}).test();
  LinearTester().input(17, 1, 1).output_features(1).test();
  LinearTester().input(3, 1, 1).output_features(17).relu().test();
  // Unflattened CxHxW input: PyTorch flattens in order c, y, x.
  LinearTester().input(5, 3, 2).output_features(7).batches({1, 3}).test();
  LinearTester().input(3, 5, 4).output_features(48).relu().test();
}

TEST_CASE("to_nhwc") {
  ToNhwcTester().input(3, 7, 5).batches({1, 3}).test();
  ToNhwcTester().input(1, 1, 1).test();
  ToNhwcTester().input(17, 13, 11).test();
}

// ============================================================================================
// shape checking
// ============================================================================================

TEST_CASE("a wrong-size buffer fails the realize with a Halide error, writing nothing") {
  // conv 10x7x5 -> 17x7x5 k3 p1 with a residual.
  Layer l;
  l.kind = LayerKind::conv;
  l.name = "conv";
  l.in = shape(10, 7, 5);
  l.out = shape(17, 7, 5);
  l.kernel = 3, l.padding = 1;
  l.residual = Residual::same, l.res = l.out;
  Compiled k(l);
  const int B = 2;
  std::vector<float> in(std::size_t(B) * 10 * 7 * 5, 1.0f), res(std::size_t(B) * 17 * 7 * 5, 1.0f);
  std::vector<float> w(17 * 10 * 9, 1.0f), b(17, 0.0f);
  std::vector<float> big(std::size_t(B) * 17 * 8 * 8, 1.0f);
  auto args = [&] {
    return std::map<std::string, Halide::Buffer<float>>{
        {"input", Halide::Buffer<float>(in.data(), {10, 5, 7, B})},
        {"residual", Halide::Buffer<float>(res.data(), {17, 5, 7, B})},
        {"weights", Halide::Buffer<float>(w.data(), {17, 10, 3, 3})},
        {"bias", Halide::Buffer<float>(b.data(), {17})}};
  };
  std::vector<float> out(std::size_t(B) * 17 * 7 * 5, kNaN);
  auto out_buf = [&] { return Halide::Buffer<float>(out.data(), {17, 5, 7, B}); };

  // The right sizes run (so the failures below are about the sizes).
  CHECK(realize_error(k, args(), out_buf()).empty());
  CHECK(out[0] == doctest::Approx(41.0f));  // corner: 10 channels x 4 taps inside + residual 1
  std::fill(out.begin(), out.end(), kNaN);

  struct Bad {
    const char* what;
    std::string param;
    Halide::Buffer<float> buf;
  };
  std::vector<Bad> bad{
      {"input one column short (W 4, wants 5)", "input", Halide::Buffer<float>(in.data(), {10, 4, 7, B})},
      {"input with NCHW-like extents swapped (H, W)", "input", Halide::Buffer<float>(in.data(), {10, 7, 5, B})},
      {"input with 9 channels", "input", Halide::Buffer<float>(in.data(), {9, 5, 7, B})},
      {"input one row too many (H 8)", "input", Halide::Buffer<float>(big.data(), {10, 5, 8, B})},
      {"residual with 16 channels", "residual", Halide::Buffer<float>(res.data(), {16, 5, 7, B})},
      {"weights for kernel 1", "weights", Halide::Buffer<float>(w.data(), {17, 10, 1, 1})},
      {"weights for 16 outputs", "weights", Halide::Buffer<float>(w.data(), {16, 10, 3, 3})},
      {"bias of 16", "bias", Halide::Buffer<float>(b.data(), {16})},
  };
  for (const Bad& c : bad) {
    std::string what = c.what;
    INFO(what);
    auto a = args();
    a[c.param] = c.buf;
    std::string err = realize_error(k, a, out_buf());
    CHECK_MESSAGE(!err.empty(), "realize succeeded");
    CHECK_MESSAGE(err.find(c.param) != std::string::npos, "error does not name " << c.param << ": " << err);
    CHECK(all_nan(out));
  }
  {
    INFO("output for 6 columns");
    std::vector<float> out6(std::size_t(B) * 17 * 6 * 7, kNaN);
    std::string err = realize_error(k, args(), Halide::Buffer<float>(out6.data(), {17, 6, 7, B}));
    CHECK_MESSAGE(!err.empty(), "realize succeeded");
    CHECK(all_nan(out6));
  }

  // linear 5x3x2 -> 7 handed a pre-flattened 30x1x1 input.
  Layer fc;
  fc.kind = LayerKind::linear;
  fc.name = "fc";
  fc.in = shape(5, 3, 2);
  fc.out = shape(7, 1, 1);
  Compiled kf(fc);
  std::vector<float> fin(30, 1.0f), fw(7 * 30, 1.0f), fb(7, 0.0f), fout(7, kNaN);
  std::string err = realize_error(kf,
                                  {{"input", Halide::Buffer<float>(fin.data(), {30, 1, 1, 1})},
                                   {"weights", Halide::Buffer<float>(fw.data(), {7, 5, 2, 3})},
                                   {"bias", Halide::Buffer<float>(fb.data(), {7})}},
                                  Halide::Buffer<float>(fout.data(), {7, 1}));
  CHECK_MESSAGE(err.find("input") != std::string::npos, "linear on a flattened input: " << err);
  CHECK(all_nan(fout));

  // to_nhwc handed NHWC-ordered extents (c, x, y, n) instead of NCHW's (x, y, c, n).
  Layer t;
  t.kind = LayerKind::to_nhwc;
  t.name = "input";
  t.in = t.out = shape(3, 7, 5);
  Compiled kt(t);
  std::vector<float> tin(3 * 7 * 5, 1.0f), tout(3 * 7 * 5, kNaN);
  err = realize_error(kt, {{"input", Halide::Buffer<float>(tin.data(), {3, 5, 7, 1})}},
                      Halide::Buffer<float>(tout.data(), {3, 5, 7, 1}));
  CHECK_MESSAGE(err.find("input") != std::string::npos, "to_nhwc on NHWC extents: " << err);
  CHECK(all_nan(tout));
}
