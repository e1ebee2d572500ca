// Convolution kernels against a naive loop nest (see op_tester.hpp), and the kernels' shape
// checks (a wrong-size buffer is an error, never garbage).
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

using namespace op_test;

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

TEST_CASE("conv: blocked weights (output channels a multiple of 16) under other schedule knobs") {
  using resgen::ConvKnobs;
  // Tiles of one vector (half a block with AVX2), of four (two blocks), odd pixel tiles, one row
  // per task, small channel blocks; 1x1, 3x3 and the strided 7x7 stem.
  ConvTester().input(24, 9, 7).output_channels(64).kernel(3).padding(1).relu().knobs(ConvKnobs{1, 3, 1, 8}).test();
  ConvTester().input(24, 9, 7).output_channels(64).kernel(3).padding(1).relu().knobs(ConvKnobs{4, 2, 2, 6}).test();
  ConvTester().input(32, 5, 6).output_channels(32).kernel(1).residual_same().knobs(ConvKnobs{2, 7, 5, 4}).batches({1, 3}).test();
  ConvTester().input(3, 15, 13).output_channels(16).kernel(7).stride(2).padding(3).knobs(ConvKnobs{1, 5, 3, 1}).test();
  // Task order 2 (a row block's channel tiles in turn), and the padded input made per task (1),
  // once per layer (2) or nowhere (3: guarded loads), with batches of images.
  for (int place : {1, 2, 3}) {
    ConvTester().input(24, 9, 7).output_channels(64).kernel(3).padding(1).relu()
        .knobs(ConvKnobs{1, 3, 2, 8, 2, place}).batches({1, 3}).test();
    ConvTester().input(3, 15, 13).output_channels(16).kernel(7).stride(2).padding(3)
        .knobs(ConvKnobs{1, 5, 3, 1, 1, place}).test();
  }
  ConvTester().input(32, 5, 6).output_channels(32).kernel(1).residual_same().knobs(ConvKnobs{2, 7, 2, 4, 2, 1}).batches({1, 3}).test();
  ConvTester().input(16, 7, 7).output_channels(32).kernel(3).padding(1).groups(4).knobs(ConvKnobs{1, 3, 2, 2, 2, 3}).test();
  // Illegal knobs are an error naming the layer, not a wrong kernel.
  Layer l = ConvTester().input(24, 9, 7).output_channels(64).kernel(3).padding(1).layer();
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(l, jit_target(), ConvKnobs{0, 0, 0, 7}),
                       doctest::Contains("channel block must divide"), resgen::Error);
  CHECK_THROWS_AS(resgen::resolve_conv_knobs(l, jit_target(), ConvKnobs{9, 0, 0, 0}), resgen::Error);
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(l, jit_target(), ConvKnobs{0, 0, 0, 0, 3, 0}),
                       doctest::Contains("task order"), resgen::Error);
  Layer unpadded = ConvTester().input(24, 9, 7).output_channels(64).kernel(1).layer();
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(unpadded, jit_target(), ConvKnobs{0, 0, 0, 0, 0, 2}),
                       doctest::Contains("no padding"), resgen::Error);
}

TEST_CASE("conv: channel tiles per task (span) and winograd F(2x2, 3x3) and F(4x4, 3x3)") {
  using resgen::ConvKnobs;
  auto knobs = [](int cv, int tile, int rows, int block, int span, int algorithm) {
    ConvKnobs k{cv, tile, rows, block};
    k.span = span, k.algorithm = algorithm;
    return k;
  };
  // Span: a pixel tile runs over 2 or 4 channel tiles; 1x1 with the residual, 3x3 padded.
  ConvTester().input(32, 5, 6).output_channels(64).kernel(1).residual_same().relu().knobs(knobs(2, 6, 2, 16, 2, 1)).batches({1, 3}).test();
  ConvTester().input(24, 9, 7).output_channels(64).kernel(3).padding(1).knobs(knobs(1, 5, 3, 8, 4, 1)).test();
  // F(2x2) as the heuristic picks it (64 channels on 14x14), with the residual, batches.
  Layer big = ConvTester().input(64, 14, 14).output_channels(64).kernel(3).padding(1).layer();
  CHECK(resgen::default_conv_knobs(big, jit_target()).algorithm == 2);
  ConvTester().input(64, 14, 14).output_channels(64).kernel(3).padding(1).relu().residual_same().batches({1, 2}).test();
  // F(4x4) as the heuristic picks it (64 channels on 28x28: tasks of whole 28-row maps), with the
  // residual and batches.
  Layer wide = ConvTester().input(64, 28, 28).output_channels(64).kernel(3).padding(1).layer();
  CHECK(resgen::default_conv_knobs(wide, jit_target()).algorithm == 3);
  ConvTester().input(64, 28, 28).output_channels(64).kernel(3).padding(1).relu().residual_same().batches({1, 2}).test();
  // Both: odd maps (a last block partly outside), channels off the vector width and off the
  // weight block (dense weights), tasks of rows that are not multiples of m (the blocks'
  // coefficients then chosen at run time), one input channel, tiles of tiles, channel blocks,
  // task order 2, a subsampled residual.
  for (int a : {2, 3}) {
    INFO("algorithm " << a);
    ConvTester().input(24, 9, 7).output_channels(64).kernel(3).padding(1).relu().knobs(knobs(1, 3, 3, 8, 1, a)).batches({1, 3}).test();
    ConvTester().input(5, 7, 11).output_channels(24).kernel(3).padding(1).knobs(knobs(1, 4, 5, 5, 1, a)).test();
    ConvTester().input(1, 1, 1).output_channels(3).kernel(3).padding(1).relu().residual_same().knobs(knobs(0, 0, 0, 0, 1, a)).test();
    ConvTester().input(32, 6, 6).output_channels(32).kernel(3).padding(1).knobs(knobs(2, 2, 6, 16, 1, a)).test();
    ConvKnobs order2 = knobs(1, 6, 4, 16, 1, a);
    order2.order = 2;
    ConvTester().input(16, 13, 10).output_channels(48).kernel(3).padding(1).knobs(order2).batches({2}).test();
    ConvTester()
        .input(10, 4, 3)
        .output_channels(16)
        .kernel(3)
        .padding(1)
        .residual_subsample_pad(10, 7, 5, 2, 2)
        .knobs(knobs(0, 0, 0, 0, 1, a))
        .test();
  }
  // Where they do not apply, an error naming the layer and the reason.
  Layer strided = ConvTester().input(16, 8, 8).output_channels(16).kernel(3).stride(2).padding(1).layer();
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(strided, jit_target(), knobs(0, 0, 0, 0, 0, 2)),
                       doctest::Contains("winograd takes 3x3 convolutions of stride 1"), resgen::Error);
  CHECK_THROWS_WITH_AS(resgen::define_kernel(strided, resgen::ConvAlgorithm::winograd),
                       doctest::Contains("winograd"), resgen::Error);
  Layer l = ConvTester().input(16, 8, 8).output_channels(48).kernel(3).padding(1).layer();
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(l, jit_target(), knobs(2, 0, 0, 0, 2, 1)),
                       doctest::Contains("span must be 1 or divide"), resgen::Error);
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(l, jit_target(), knobs(0, 0, 0, 0, 3, 2)),
                       doctest::Contains("winograd takes padded 1, span 1"), resgen::Error);
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(l, jit_target(), knobs(0, 0, 0, 0, 0, 4)),
                       doctest::Contains("algorithm must be 1"), resgen::Error);
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(strided, jit_target(), knobs(0, 0, 0, 0, 0, 3)),
                       doctest::Contains("winograd takes 3x3 convolutions of stride 1"), resgen::Error);
  // The manual schedule keeps small maps and few channels direct (CIFAR, 7x7).
  CHECK(resgen::default_conv_knobs(l, jit_target()).algorithm == 1);
  Layer late = ConvTester().input(512, 7, 7).output_channels(512).kernel(3).padding(1).layer();
  CHECK(resgen::default_conv_knobs(late, jit_target()).algorithm == 1);
}

TEST_CASE("conv: accumulators in registers (accumulators 2)") {
  using resgen::ConvKnobs;
  auto knobs = [](int cv, int tile, int rows, int span, int padded) {
    ConvKnobs k{cv, tile, rows, 0, 1, padded};
    k.span = span, k.accumulators = 2;
    return k;
  };
  // 1x1 expansions with the residual over 1 and 2 channel tiles per task, tiles that divide the
  // row and that do not (the last one shifted inwards), rows that do not divide the height.
  ConvTester().input(32, 6, 7).output_channels(64).kernel(1).residual_same().relu().knobs(knobs(2, 7, 2, 1, 1)).batches({1, 3}).test();
  ConvTester().input(32, 5, 6).output_channels(64).kernel(1).residual_same().relu().knobs(knobs(2, 4, 2, 2, 1)).batches({1, 3}).test();
  ConvTester().input(16, 7, 9).output_channels(64).kernel(1).knobs(knobs(4, 3, 3, 1, 1)).test();
  // Stride 2, 3x3 with the padded input per task, per layer and nowhere, the strided 7x7 stem,
  // channels off the vector width (tiles shifted inwards), task order 2, a one-pixel row.
  ConvTester().input(24, 9, 8).output_channels(32).kernel(1).stride(2).knobs(knobs(1, 2, 2, 1, 1)).test();
  for (int place : {1, 2, 3})
    ConvTester().input(24, 9, 7).output_channels(64).kernel(3).padding(1).relu().knobs(knobs(1, 3, 2, 1, place)).batches({1, 2}).test();
  ConvTester().input(3, 15, 13).output_channels(16).kernel(7).stride(2).padding(3).knobs(knobs(1, 4, 3, 1, 2)).test();
  ConvTester().input(12, 5, 5).output_channels(24).kernel(3).padding(1).residual_same().knobs(knobs(1, 5, 2, 1, 1)).test();
  ConvKnobs order2 = knobs(1, 3, 2, 2, 1);
  order2.order = 2;
  ConvTester().input(16, 6, 6).output_channels(64).kernel(1).residual_same().relu().knobs(order2).batches({2}).test();
  ConvTester().input(8, 1, 1).output_channels(16).kernel(1).knobs(knobs(1, 1, 1, 1, 1)).test();
  // The subsampled, channel-padded residual (CIFAR's option A).
  ConvTester().input(32, 4, 4).output_channels(32).kernel(3).padding(1).residual_subsample_pad(16, 8, 8, 2, 8).knobs(knobs(1, 4, 2, 1, 1)).test();

  // Its legality: all input channels in one block, tiles within a row, no groups, not winograd.
  Layer l = ConvTester().input(24, 9, 7).output_channels(64).kernel(3).padding(1).layer();
  ConvKnobs blocked = knobs(0, 0, 0, 0, 0);
  blocked.channel_block = 8;
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(l, jit_target(), blocked), doctest::Contains("one channel block"),
                       resgen::Error);
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(l, jit_target(), knobs(0, 8, 0, 0, 0)),
                       doctest::Contains("at most its 7 pixels"), resgen::Error);
  Layer grouped = ConvTester().input(16, 7, 7).output_channels(32).kernel(3).padding(1).groups(4).layer();
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(grouped, jit_target(), knobs(0, 0, 0, 0, 0)),
                       doctest::Contains("without groups"), resgen::Error);
  ConvKnobs winograd = knobs(0, 0, 0, 0, 0);
  winograd.algorithm = 2;
  CHECK_THROWS_WITH_AS(resgen::resolve_conv_knobs(l, jit_target(), winograd), doctest::Contains("accumulators 1"),
                       resgen::Error);
  // Left to the heuristic, it follows the fields given: a channel block of part of the input
  // channels keeps the task buffer; given alone, it resolves the block and the row's tile.
  ConvKnobs part{0, 0, 0, 8};
  CHECK(resgen::resolve_conv_knobs(l, jit_target(), part).accumulators == 1);
  ConvKnobs alone = knobs(0, 0, 0, 0, 0);
  ConvKnobs r = resgen::resolve_conv_knobs(l, jit_target(), alone);
  CHECK(r.channel_block == 24);
  CHECK(r.tile <= 7);

  // The heuristic picks it on AVX-512 for 1x1 expansions whose rows 7-pixel tiles divide
  // (ResNet-50's), and nowhere on AVX2.
  Halide::Target avx512("x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41");
  Halide::Target avx2("x86-64-linux-avx-avx2-f16c-fma-sse41");
  Layer expand = ConvTester().input(128, 28, 28).output_channels(512).kernel(1).residual_same().layer();
  Layer reduce = ConvTester().input(512, 28, 28).output_channels(128).kernel(1).layer();
  Layer odd = ConvTester().input(128, 29, 29).output_channels(512).kernel(1).layer();
  ConvKnobs e = resgen::default_conv_knobs(expand, avx512);
  CHECK(e.accumulators == 2);
  CHECK(e.channel_block == 128);
  CHECK(e.tile == 7);
  CHECK(resgen::default_conv_knobs(reduce, avx512).accumulators == 1);
  CHECK(resgen::default_conv_knobs(odd, avx512).accumulators == 1);
  CHECK(resgen::default_conv_knobs(expand, avx2).accumulators == 1);
  // And for 3x3 convolutions of stride 2 in 2-vector tiles of 14 pixels, where they divide the row.
  Layer strided = ConvTester().input(128, 56, 56).output_channels(128).kernel(3).stride(2).padding(1).layer();
  Layer strided7 = ConvTester().input(512, 14, 14).output_channels(512).kernel(3).stride(2).padding(1).layer();
  ConvKnobs st = resgen::default_conv_knobs(strided, avx512);
  CHECK(st.accumulators == 2);
  CHECK(st.channel_vectors == 2);
  CHECK(st.tile == 14);
  CHECK(st.channel_block == 128);
  CHECK(resgen::default_conv_knobs(strided7, avx512).accumulators == 1);
  CHECK(resgen::default_conv_knobs(strided, avx2).accumulators == 1);
}

TEST_CASE("conv: which schedules may write the output over the residual") {
  using resgen::ConvKnobs;
  // Every split of the output exact: yes; a tail of channels, rows or a row's tiles shifted
  // inwards (computing elements again): no.
  Layer l = ConvTester().input(32, 6, 7).output_channels(64).kernel(1).residual_same().layer();
  Halide::Target avx2("x86-64-linux-avx-avx2-f16c-fma-sse41");
  auto knobs = [](int cv, int tile, int rows, int accumulators) {
    ConvKnobs k{cv, tile, rows};
    k.accumulators = accumulators;
    return k;
  };
  CHECK(resgen::conv_writes_each_output_once(l, avx2, knobs(2, 7, 2, 2)));
  CHECK(resgen::conv_writes_each_output_once(l, avx2, knobs(2, 5, 3, 1)));  // tiles run over the flattened pixels
  CHECK_FALSE(resgen::conv_writes_each_output_once(l, avx2, knobs(2, 5, 3, 2)));  // 7 = 5 + 2
  CHECK_FALSE(resgen::conv_writes_each_output_once(l, avx2, knobs(2, 7, 4, 2)));  // 6 rows = 4 + 2
  Layer odd = ConvTester().input(32, 6, 7).output_channels(24).kernel(1).residual_same().layer();
  CHECK_FALSE(resgen::conv_writes_each_output_once(odd, avx2, knobs(2, 7, 2, 1)));  // 24 = 16 + 8 channels
  // ResNet-50's blocks under the manual schedule, on AVX2 and AVX-512: all of them.
  Halide::Target avx512("x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41");
  for (const Halide::Target& t : {avx2, avx512})
    for (Layer b : {ConvTester().input(64, 56, 56).output_channels(256).kernel(1).residual_same().layer(),
                    ConvTester().input(128, 28, 28).output_channels(512).kernel(1).residual_same().layer(),
                    ConvTester().input(256, 14, 14).output_channels(1024).kernel(1).residual_same().layer(),
                    ConvTester().input(512, 7, 7).output_channels(2048).kernel(1).residual_same().layer(),
                    ConvTester().input(64, 56, 56).output_channels(64).kernel(3).padding(1).residual_same().layer(),
                    ConvTester().input(512, 7, 7).output_channels(512).kernel(3).padding(1).residual_same().layer()}) {
      INFO(t.to_string() << " " << b.in.c << "->" << b.out.c << " at " << b.out.w);
      CHECK(resgen::conv_writes_each_output_once(b, t));
    }
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
