// Convolution kernels under the manual schedule's knobs (schedules/cpu_knobs.cpp) against a
// naive loop nest (conv_tester.hpp): tiles, blocks, task order, padded placement, span,
// winograd, accumulators in registers, the knobs' errors and the heuristics' choices.
#include "tests/ops/conv_tester.hpp"

using namespace op_test;

// ============================================================================================
// conv under schedule knobs
// ============================================================================================

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
    // Row bands of one or two channel tiles: each task transforms its band's input itself.
    int vw = jit_target().natural_vector_size<float>();
    ConvKnobs bands = knobs(1, 5, 4, 16, 1, a);
    bands.order = 2;
    ConvTester().input(16, 12, 13).output_channels(2 * vw).kernel(3).padding(1).relu().residual_same().knobs(bands).batches({1, 2}).test();
    ConvTester().input(16, 9, 10).output_channels(vw).kernel(3).padding(1).knobs(bands).batches({2}).test();
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
  // On Zen 4 and 5 the expansions keep the task buffer, in 4 x 6 tiles.
  Halide::Target zen("x86-64-linux-avx-avx2-avx512-avx512_skylake-avx512_zen4-f16c-fma-sse41");
  ConvKnobs ez = resgen::default_conv_knobs(expand, zen);
  CHECK(ez.accumulators == 1);
  CHECK(ez.channel_vectors == 4);
  CHECK(ez.tile == 6);
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
  // The 1x1 projections of stride 2 too, in place of 4-vector tiles.
  Layer projection = ConvTester().input(256, 56, 56).output_channels(512).kernel(1).stride(2).layer();
  ConvKnobs pr = resgen::default_conv_knobs(projection, avx512);
  CHECK(pr.accumulators == 2);
  CHECK(pr.channel_vectors == 2);
  CHECK(pr.tile == 14);
  // The stem's 4-vector tiles take 6 pixels, which leave registers for the weights and input.
  Layer stem = ConvTester().input(3, 224, 224).output_channels(64).kernel(7).stride(2).padding(3).layer();
  CHECK(resgen::default_conv_knobs(stem, avx512).channel_vectors == 4);
  CHECK(resgen::default_conv_knobs(stem, avx512).tile == 6);
  // At 7x7 (49 pixels) they take 5: 50 computed, where 6 computes 54.
  Layer expand7 = ConvTester().input(512, 7, 7).output_channels(2048).kernel(1).residual_same().layer();
  CHECK(resgen::default_conv_knobs(expand7, zen).channel_vectors == 4);
  CHECK(resgen::default_conv_knobs(expand7, zen).tile == 5);
  CHECK(resgen::resolve_conv_knobs(expand7, zen, ConvKnobs{}).tile == 5);
  CHECK(resgen::resolve_conv_knobs(expand7, zen, ConvKnobs{4, 0, 7}).tile == 5);
  // Tasks in row bands (order 2) on maps of 28 rows and more, winograd's too; channel tiles
  // first below.
  CHECK(resgen::default_conv_knobs(expand, avx512).order == 2);
  CHECK(resgen::default_conv_knobs(stem, avx2).order == 2);
  Layer wino56 = ConvTester().input(64, 56, 56).output_channels(64).kernel(3).padding(1).layer();
  CHECK(resgen::default_conv_knobs(wino56, avx512).algorithm == 3);
  CHECK(resgen::default_conv_knobs(wino56, avx512).order == 2);
  CHECK(resgen::default_conv_knobs(strided7, avx512).order == 1);
  CHECK(resgen::default_conv_knobs(reduce, avx512).order == 2);
  Layer late = ConvTester().input(1024, 14, 14).output_channels(256).kernel(1).layer();
  CHECK(resgen::default_conv_knobs(late, avx512).order == 1);
  // Knobs left to the heuristic resolve to the same tiles (what the library's schedule uses).
  for (const Layer& lay : {strided, projection, expand, stem}) {
    ConvKnobs given = resgen::resolve_conv_knobs(lay, avx512, ConvKnobs{});
    ConvKnobs d = resgen::default_conv_knobs(lay, avx512);
    CHECK(given.tile == d.tile);
    CHECK(given.accumulators == d.accumulators);
    CHECK(given.channel_vectors == d.channel_vectors);
  }
}

TEST_CASE("conv: the default channel blocks") {
  using resgen::ConvKnobs;
  // The whole reduction is one block, except in a 1x1 whose channel tile's weights outgrow L1
  // and fit in two blocks of about 36 KB.
  Halide::Target avx512("x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41");
  Halide::Target avx2("x86-64-linux-avx-avx2-f16c-fma-sse41");
  Layer late3x3 = ConvTester().input(512, 7, 7).output_channels(512).kernel(3).padding(1).layer();
  Layer strided = ConvTester().input(256, 14, 14).output_channels(512).kernel(3).stride(2).padding(1).layer();
  Layer reduce = ConvTester().input(512, 28, 28).output_channels(128).kernel(1).layer();
  Layer two_blocks = ConvTester().input(256, 56, 56).output_channels(64).kernel(1).layer();
  Layer small = ConvTester().input(64, 56, 56).output_channels(64).kernel(1).layer();
  for (const Halide::Target& t : {avx512, avx2}) {
    CAPTURE(t.to_string());
    CHECK(resgen::default_conv_knobs(late3x3, t).channel_block == 512);
    CHECK(resgen::default_conv_knobs(strided, t).channel_block == 256);
    CHECK(resgen::default_conv_knobs(reduce, t).channel_block == 512);
    CHECK(resgen::default_conv_knobs(small, t).channel_block == 64);
  }
  // 4 vectors of 16 channels x 256 input channels: 64 KB, two blocks of 128 channels.
  CHECK(resgen::default_conv_knobs(two_blocks, avx512).channel_vectors == 4);
  CHECK(resgen::default_conv_knobs(two_blocks, avx512).channel_block == 128);
  // The expansions at 14x14 with AVX-512's 4-vector tiles: tasks of the whole map for 2 channel
  // tiles, one block; AVX2's tiles, and the expansions at 28x28 and of stride 2, as before.
  Layer expand14 = ConvTester().input(256, 14, 14).output_channels(1024).kernel(1).residual_same().layer();
  Layer expand28 = ConvTester().input(128, 28, 28).output_channels(512).kernel(1).residual_same().layer();
  Layer project14 = ConvTester().input(256, 28, 28).output_channels(512).kernel(1).stride(2).layer();
  ConvKnobs e14 = resgen::default_conv_knobs(expand14, avx512);
  CHECK(e14.channel_vectors == 4);
  CHECK(e14.rows == 14);
  CHECK(e14.span == 2);
  CHECK(e14.channel_block == 256);
  ConvKnobs r14 = resgen::resolve_conv_knobs(expand14, avx512, ConvKnobs{});
  CHECK(r14.rows == 14);
  CHECK(r14.span == 2);
  CHECK(r14.channel_block == 256);
  ConvKnobs a14 = resgen::default_conv_knobs(expand14, avx2);
  CHECK(a14.rows == 7);
  CHECK(a14.span == 4);
  CHECK(resgen::default_conv_knobs(expand28, avx512).span == 4);
  CHECK(resgen::default_conv_knobs(expand28, avx512).rows < 28);
  CHECK(resgen::default_conv_knobs(project14, avx512).rows < 14);
  // Such a task computes right: a whole 14x14 map for 2 tiles of 64 channels, one block.
  ConvKnobs whole{4, 6, 14, 64};
  whole.span = 2;
  ConvTester().input(64, 14, 14).output_channels(256).kernel(1).residual_same().relu().knobs(whole).batches({1, 2})
      .test();
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

