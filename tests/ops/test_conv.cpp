// Convolution kernels against a naive loop nest (conv_tester.hpp), and the kernels' shape
// checks (a wrong-size buffer is an error, never garbage). The schedule knobs' cases are in
// test_conv_knobs.cpp.
#include "tests/ops/conv_tester.hpp"

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
