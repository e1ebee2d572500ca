// The other kernels (affine, relu, add, pad_channels, pools, linear, to_nhwc) against naive
// loop nests (see op_tester.hpp).
#include "tests/ops/op_tester.hpp"

namespace op_test {
namespace {
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


}  // namespace
}  // namespace op_test

using namespace op_test;
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
  // Several register tiles of outputs, the last one shifted inwards (like 2048 -> 1000).
  LinearTester().input(64, 1, 1).output_features(100).batches({1, 3}).test();
  // Weights of 256 KB and more stream by rows in parallel parts (16, or fewer dividing the
  // channels), each image of the batch summed by every part.
  LinearTester().input(512, 1, 1).output_features(130).batches({1, 3}).test();
  LinearTester().input(40, 3, 2).output_features(300).relu().batches({1, 2}).test();
}

TEST_CASE("to_nhwc") {
  ToNhwcTester().input(3, 7, 5).batches({1, 3}).test();
  ToNhwcTester().input(1, 1, 1).test();
  ToNhwcTester().input(17, 13, 11).test();
}

// ============================================================================================
// shape checking
// ============================================================================================
