// ConvTester: one convolution layer's kernel (define_kernel + schedule_cpu_manual, JIT) against
// a naive loop nest in double, over batches, with the residual fused or written over (see
// op_tester.hpp). Used by test_conv.cpp and test_conv_knobs.cpp.
#pragma once

#include "generator/error.hpp"
#include "tests/ops/op_tester.hpp"


namespace op_test {
namespace {
// ---- conv ------------------------------------------------------------------------------------

struct ConvTester {
  int in_c_ = 1, h_ = 1, w_ = 1, out_c_ = 1, kernel_ = 1, stride_ = 1, padding_ = 0, groups_ = 1;
  bool relu_ = false;
  Residual residual_ = Residual::none;
  int res_c_ = 0, res_h_ = 0, res_w_ = 0, res_stride_ = 1, res_pad_before_ = 0;
  std::vector<int> batches_{1};
  uint32_t seed_ = 1;
  resgen::ConvKnobs knobs_;

  ConvTester& input(int c, int h, int w) { in_c_ = c, h_ = h, w_ = w; return *this; }
  ConvTester& output_channels(int c) { out_c_ = c; return *this; }
  ConvTester& kernel(int k) { kernel_ = k; return *this; }
  ConvTester& stride(int s) { stride_ = s; return *this; }
  ConvTester& padding(int p) { padding_ = p; return *this; }
  ConvTester& groups(int g) { groups_ = g; return *this; }
  ConvTester& relu(bool r = true) { relu_ = r; return *this; }
  ConvTester& batches(std::vector<int> b) { batches_ = std::move(b); return *this; }
  ConvTester& seed(uint32_t s) { seed_ = s; return *this; }
  ConvTester& knobs(resgen::ConvKnobs k) { knobs_ = k; return *this; }
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
    Compiled k(layer(), knobs_);
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
      op_test::PackedConvWeights w_packed = pack_conv_weights(w, out_c_, cig(), K, resgen::conv_weights_blocked(k.layer));
      std::vector<float> out(std::size_t(batch) * out_c_ * OH * OW, kNaN);
      std::map<std::string, Halide::Buffer<float>> args{
          {"input", nhwc_buffer(in_flat, batch, in_c_, h_, w_)},
          {"weights", w_packed.buffer},
          {"bias", Halide::Buffer<float>(b.data(), {out_c_})}};
      if (residual_ != Residual::none) args["residual"] = nhwc_buffer(res_flat, batch, res.c, res.h, res.w);
      k.realize(args, Halide::Buffer<float>(out.data(), {out_c_, OW, OH, batch}));
      INFO("batch " << batch);
      bool f4 = resgen::conv_algorithm(k.layer, jit_target(), knobs_) == resgen::ConvAlgorithm::winograd4;
      check_close(ref, out, f4 ? op_test::kWinograd4RelTol : op_test::kRelTol);
      if (residual_ == Residual::same && resgen::conv_writes_each_output_once(k.layer, jit_target(), knobs_)) {
        // Written over its residual, as a library plans it where the schedule computes each
        // output element once (plan_arena's residual in place): each residual element must be
        // read before its output element overwrites it.
        INFO("output written over the residual");
        Halide::Buffer<float> shared = nhwc_buffer(res_flat, batch, res.c, res.h, res.w);
        args["residual"] = shared;
        k.realize(args, shared);
        std::vector<float> got(shared.data(), shared.data() + shared.number_of_elements());
        check_close(ref, got, f4 ? op_test::kWinograd4RelTol : op_test::kRelTol);
      }
    }
  }
};

}  // namespace
}  // namespace op_test
