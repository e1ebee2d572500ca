// The manual CPU schedule's knobs (schedules/schedules.hpp ConvKnobs): the heuristics that pick
// them for a layer and target (default_conv_knobs), and their resolution and checks
// (resolve_conv_knobs, conv_knobs_legal, conv_writes_each_output_once). The schedules that apply
// them are in cpu_manual.cpp; every measurement behind a heuristic is in its comment.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "generator/error.hpp"
#include "schedules/cpu_vectors.hpp"
#include "schedules/schedules.hpp"

namespace resgen {
namespace {

using namespace Halide;

// Pixels per register tile, for a run of `pixels` (a row, or a 1x1 convolution's task). The
// tile's accumulators (vectors x pixels) must leave a few of the target's vector registers (16
// with AVX2 and 32-bit NEON, 32 with AVX-512 and 64-bit NEON) for weights and broadcasts, and
// there should be at least 8 of them to cover the FMA latency. Wider tiles amortize the tile's
// weight loads and accumulator traffic over more pixels (measured: 6 pixels beat 4 by 4 to 13% on
// AVX2), so the cost per pixel is modelled as (1 + 2 / width) times the pixels computed per
// pixel kept (a run rounded up to whole tiles recomputes its last pixels).
int tile_width(const Target& t, int pixels, int vectors, int most = 12) {
  bool many = t.has_feature(Target::AVX512) || (t.arch == Target::ARM && t.bits == 64);
  int regs = many ? 32 : 16;
  int cap = std::max(1, std::min(most, (regs - 4) / vectors));
  int lo = std::min(cap, std::max(1, (8 + vectors - 1) / vectors));
  if (pixels <= cap) return pixels;
  int best = cap;
  double best_cost = 1e30;
  for (int x = cap; x >= lo; --x) {
    double computed = double((pixels + x - 1) / x * x) / pixels;
    double cost = computed * (1.0 + 2.0 / x);
    if (cost < best_cost - 1e-9) best = x, best_cost = cost;
  }
  return best;
}

// A 1x1 convolution that widens its input at least twice, on rows of 14 pixels or more: the
// bottleneck's expansions and projections (default_span, whole_map_expansion).
bool widening_1x1(const Layer& l) {
  return l.kernel == 1 && l.groups == 1 && l.out.c >= 2 * l.in.c && l.out.w >= 14;
}

// Such a convolution of stride 1 on a map of 14 rows or fewer, in tiles of 64 channels (AVX-512's
// 4 vectors): ResNet-50's expansions to 1024 channels at 14x14. Its tasks take the whole map
// (196 pixels, 200 KB of input that stays in L2) for 2 channel tiles, their reduction in one
// block: each weight is then loaded once per 196 pixels, not per 98, and the 4 tiles' blocks of
// the span-4 default did not stay in L1 anyway. Measured on a Zen 5 (`kernel_lab --cold 3`, 2
// threads, in turns against 7 rows, two blocks of 128 channels and a span of 4): 0.920 to 0.935
// of the time; one block alone 0.962, whole-map rows alone 0.958, a span of 1 0.938, of 4 0.948.
// At 28x28 (128 to 512) rows, spans and blocks made no difference (0.991 to 1.007). AVX2's tiles
// of 16 channels keep one block already, and whole-map rows with a span of 2 took 1.02 to 1.04x
// the time there.
bool whole_map_expansion(const Layer& l, int tc) {
  return widening_1x1(l) && l.stride == 1 && l.out.h <= 14 && tc >= 64;
}

// Pixels per register tile whose accumulators take the task buffer (schedule_conv). 4-vector
// tiles of 7 pixels need 33 registers (28 accumulators, 4 weights and the input value each
// reuses 4 times) and spill 2 or 3 accumulators per step, so they take at most 6 pixels, and
// tile_width's cost model picks among those: 6 on runs of 56 to 196 pixels, 5 on a 7x7 map's 49
// (54 computed in tiles of 6, 50 in tiles of 5). Measured on a Zen 5 (kernel_lab --cold 3 in
// turns): 6 against 7, ResNet-50's stem in 0.915 to 0.933 of the time, its 1x1s of 4-vector
// tiles in 0.79 to 1.0; 5 against 6 at 7x7, its expansions to 2048 channels in 0.954 to 0.961,
// the projection to 2048 in 0.958 to 0.970 (4: 1.011).
int buffer_tile(const Target& t, int pixels, int vectors) {
  return tile_width(t, pixels, vectors, vectors == 4 ? 6 : 12);
}

// Rows per task: enough pixels (about 64) that a task reuses its channel tile's weights, while
// keeping at least 16 tasks for the thread pool. Rows that divide the height are preferred: a
// last task shifted inwards recomputes rows (14 rows in tasks of 5 compute 15).
int task_rows(const Layer& l, int channel_tiles, int tc) {
  if (whole_map_expansion(l, tc)) return l.out.h;
  int want = std::clamp((64 + l.out.w - 1) / l.out.w, 1, l.out.h);
  auto tasks = [&](int rows) { return channel_tiles * ((l.out.h + rows - 1) / rows); };
  int best = 0;
  for (int rows = 1; rows <= l.out.h; ++rows) {
    if (l.out.h % rows != 0 || tasks(rows) < 16) continue;
    if (rows >= want) return rows;  // the smallest such divisor
    best = rows;                    // else the largest below
  }
  if (best && 2 * best >= want) return best;
  int rows = want;
  while (rows > 1 && tasks(rows) < 16) --rows;
  return rows;
}

// Input channels per reduction block. A channel tile's weights that fit in L1 stay there for
// the whole task unblocked. Larger ones are blocked to about 36 KB of weights (ci x k x k x tile)
// only where that takes two blocks, in 1x1 convolutions; everywhere else the whole reduction is
// one block, its weights streaming from L2 past each register tile. Each block is one more pass
// over the task's register tiles (their accumulators reloaded, the input re-read), and a 3x3's
// block of weights lies in 9 runs per 16 output channels (weights are (16, ci, kx, ky) blocks),
// short streams the prefetchers follow badly when the weights come from memory. Measured on a
// Zen 5 (`kernel_lab --cold 3`, 2 threads, in turns, the whole reduction against blocks of 32 to
// 256 channels): ResNet-18's and -50's 3x3s at 7x7 in 0.72 to 0.80 of the time at batch 1, 0.80
// to 0.86 at batch 8 (AVX2 code: 0.77); 1x1s from 512 to 2048 channels in 0.88 to 0.96; the 1x1
// from 256 to 64 channels at 56x56 (two blocks) 1.18 at batch 8. (On AVX2, 64 channels of a 3x3
// beat 16 by 5 to 20%.)
int channel_block(const Layer& l, int tc) {
  int cig = l.in.c / l.groups;
  constexpr int l1_bytes = 48 * 1024, block_bytes = 36 * 1024;
  int per_channel = 4 * l.kernel * l.kernel * tc;  // bytes of weights per input channel
  int weights = cig * per_channel;                 // the channel tile's, for the whole reduction
  bool two_blocks = l.kernel == 1 && weights > l1_bytes && weights <= 2 * block_bytes;
  if (whole_map_expansion(l, tc)) two_blocks = false;
  if (!two_blocks) return cig;
  int limit = std::max(1, block_bytes / per_channel);
  for (int b = std::min(cig, limit); b >= 1; --b)
    if (cig % b == 0) return b;
  return 1;
}

// A large zero-extended input is copied once for the whole layer (rows in parallel), not once
// per task: every channel tile's tasks read the same rows, and a copy per task costs them all
// again (measured: 5 to 10% on ImageNet-sized 3x3 layers). A small one (CIFAR) is copied per
// task, which spares the layer a second parallel loop (measured: 5 to 10% the other way).
int default_padded_placement(const Layer& l) {
  if (l.kind != LayerKind::conv || l.padding == 0) return 1;
  int64_t bytes = int64_t(4) * l.in.c * (l.in.w + 2 * l.padding) * (l.in.h + 2 * l.padding);
  return bytes >= 128 * 1024 ? 2 : 1;
}

// The algorithm the manual schedule picks: winograd where the matrix products are long enough,
// 64 input channels and more, on maps of 14x14 and more; F(4x4) from 28x28 (measured on AVX2 in
// turns: F(2x2) is 1.3 to 1.9x faster than direct on ResNet-50's 3x3s at 56, 28 and 14, F(4x4)
// 1.4 to 1.5x faster than F(2x2) at 56 and 28 but 1.2x slower at 14, where 4x4 blocks cover 16x16;
// winograd is 1.1 to 2x slower than direct on 7x7 maps, and no faster on CIFAR's 16 and 32
// channels).
int default_algorithm(const Layer& l) {
  if (!winograd_applies(l) || l.in.c < 64 || l.out.c < 64 || l.out.w < 14 || l.out.h < 14) return 1;
  return l.out.w >= 28 && l.out.h >= 28 ? 3 : 2;
}

// Output rows per winograd task: as many as keep it to at most 128 tiles and the layer to at
// least 8 tasks for F(2x2), 4 for F(4x4), whose task transforms 2.25x more weights per tile; rows
// in blocks of m dividing the height, or the whole height. Each task transforms its channels'
// weights, so short tasks pay for that again and again (measured on AVX2: F(4x4) tasks of 28
// rows, 49 to 98 tiles, beat tasks of 4 to 8 rows by 15 to 30%; on AVX-512, whose channel tiles
// are twice as wide and so half as many, ResNet-50's F(4x4) at 28x28 in tasks of 28 rows took
// 0.55 to 0.7 of the time of tasks of 4, its F(2x2) at 14x14 in tasks of 14 rows about 0.6 of
// tasks of 2: these were the task minimums of 16 and 8 before).
int winograd_rows(const Layer& l, int channel_tiles, int m) {
  int tiles_x = winograd_tiles(l.out.w, m), least_tasks = m == 4 ? 4 : 8;
  int best = 0;
  for (int rows = m; rows < l.out.h + m; rows += m) {
    int r = std::min(rows, l.out.h);
    if (l.out.h % r != 0) continue;
    bool small = winograd_tiles(r, m) * tiles_x <= 128, many = channel_tiles * (l.out.h / r) >= least_tasks;
    if (small && (many || !best)) best = r;
  }
  return best ? best : std::min(m, l.out.h);
}

// Channel tiles per task for a 1x1 convolution that widens its input at least twice (the
// bottleneck's expansions and projections): the task's input then outgrows L1, and a pixel tile
// that runs over 4 channel tiles reads it once for all four (measured: 4 to 12% faster on
// ResNet-50's at 56x56 to 14x14; 6 to 10% slower at 7x7, where a task's pixels are few).
// Elsewhere the weights of several tiles outgrow L1 instead.
int default_span(const Layer& l, int channel_tiles, int tc) {
  if (!widening_1x1(l)) return 1;
  if (whole_map_expansion(l, tc)) return channel_tiles % 2 == 0 ? 2 : 1;
  for (int span : {4, 2})
    if (channel_tiles % span == 0) return span;
  return 1;
}

// Convolutions of stride 2 (3x3, and the 1x1 projections) whose output rows 14 pixels divide:
// on AVX-512 their register tiles are 2 vectors x 14 pixels, kept in registers
// (registers_tile).
bool fourteen_wide_stride2(const Layer& l) {
  return (l.kernel == 1 || l.kernel == 3) && l.stride == 2 && l.in.c > 4 && l.out.w % 14 == 0;
}

// AVX-512's 32 registers hold accumulators of 4 vectors x 7 pixels. The wider tile reads each
// input pixel once per 64 output channels instead of once per 32, and is faster for 1x1
// convolutions except those that reduce more than 512 channels to fewer, and for a stem of a few
// input channels (measured on an AVX-512 Xeon in turns, `kernel_lab --cold 3`, 4-vector tiles one
// channel tile per task against the 2-vector defaults: ResNet-50's 1x1s of stride 1 and 2 in 0.84
// to 0.98 of the time, its stem in 0.91; its 1x1s from 1024 and 2048 channels to 256 and 512 in
// 1.03 to 1.43, with half as many tasks and more channel blocks, and its 3x3s at 14x14 and 7x7
// in 1.07 to 1.5). The expansions keep default_span's 4 tiles per task: against one, 0.79 to 0.89
// of the time at 56x56, 1.02 to 1.06 at 28x28 and 14x14. The 1x1 projections of stride 2 take
// 2-vector tiles of 14 pixels instead where those divide the row (fourteen_wide_stride2; on a
// Zen 5, ResNet-18's and -50's in 0.51 to 0.84 of the time of 4 x 7). Whole libraries: Figures in
// the README.
bool four_vector_tile(const Layer& l, const Target& t) {
  if (!t.has_feature(Target::AVX512) || l.groups != 1 || l.out.c % (4 * vector_width(t, l.out.c)) != 0) return false;
  bool stem = l.in.c <= 4;
  return stem || (l.kernel == 1 && (l.in.c <= 512 || l.out.c >= l.in.c) && !fourteen_wide_stride2(l));
}

// Pixels per register tile where AVX-512's accumulators stay in registers for the whole reduction
// (schedule_conv_in_registers), 0 where they take the task buffer. Measured on an AVX-512 Xeon
// (`kernel_lab --cold 3`, in turns against the task buffer; whole libraries in README "Figures"):
// - 1x1 convolutions that widen their input at least twice, in 4-vector tiles of 7 pixels where
//   they divide the row: ResNet-50's expansions at 56x56 to 14x14 in 0.80 to 0.95 of the time;
// - 3x3 convolutions of stride 2, in 2-vector tiles of 14 pixels (28 accumulators, the most that
//   leave registers for 2 weights and a broadcast) where they divide the row: ResNet-50's at
//   28x28 and 14x14 in 0.89 to 0.93 (tiles of 7 at 7x7: 1.05; the stem, 4 x 7 or 2 x 14: 0.98
//   and 1.3). Until resolve_conv_knobs kept this tile for knobs left to the heuristic, libraries
//   got tiles of 10 and 7: on a Zen 5, 14 takes 0.83 to 0.97 of their time;
// - 1x1 convolutions of stride 2 the same way (see four_vector_tile).
// The 1x1 reductions were 0.93 to 1.0 alone but no faster in the network, and tiles that do not
// divide ResNet's rows 1.1 to 1.6x slower. On Zen 4 and 5 (targets with avx512_zen4) the
// expansions keep the task buffer: on a Zen 5 its 4 x 6 tiles (blocks of weights in L1) took
// 0.79 to 0.9 of the time of 4 x 7 in registers (weights streaming from L2 for every tile) at
// 56x56 to 7x7. The strided layers keep 2 x 14 in registers there (the task buffer: 1.06 to 1.15).
int registers_tile(const Layer& l, const Target& t, int channel_vectors) {
  if (!t.has_feature(Target::AVX512) || l.groups != 1) return 0;
  bool zen = t.has_feature(Target::AVX512_Zen4);
  if (!zen && four_vector_tile(l, t) && channel_vectors == 4 && l.kernel == 1 && l.out.c >= 2 * l.in.c) {
    int tile = tile_width(t, l.out.w, 4);
    return l.out.w % tile == 0 ? tile : 0;
  }
  if (fourteen_wide_stride2(l) && channel_vectors == 2) return 14;
  return 0;
}

// Task order 2 (a row block's channel tiles in turn) on maps of 28 rows and more, so that the
// thread pool's contiguous range of tasks per thread (generator/runtime/pool.inc) is a band of
// rows: then a thread reads the rows it wrote in the layer before (and the transformed tiles
// of its band, for winograd), not the other thread's. Where a virtual machine's two processors
// sit on two dies, a cache line written by the other one comes across slowly (800 KB at 38 GB/s,
// against 117 GB/s on one die and 190 from a core's own caches), and winograd's input
// transforms and products at 56x56 took 2 to 5x their time. Whole libraries on 2 Zen 5 cores in
// that state: ResNet-18 at batch 1 in 0.886 of the time, ResNet-50 in 0.916; extended to 14x14
// (and 7x7), 0.985 to 0.996 more; on one die (README "Figures"). Smaller maps have too few row
// blocks to share out, and their weights, which order 1 splits between the threads, dominate.
bool row_bands(const Layer& l) { return l.out.h >= 28; }

ConvKnobs default_knobs(const Layer& l, const Target& t, int algorithm) {
  ConvKnobs d;
  int vw = vector_width(t, l.out.c);
  d.channel_vectors = four_vector_tile(l, t) ? 4 : l.out.c % (2 * vw) == 0 ? 2 : 1;
  d.algorithm = algorithm;
  d.order = row_bands(l) ? 2 : 1;
  d.span = 1;
  d.accumulators = 1;
  if (algorithm >= 2) {
    int m = winograd_block(ConvAlgorithm(algorithm));
    d.rows = winograd_rows(l, (l.out.c + d.channel_vectors * vw - 1) / (d.channel_vectors * vw), m);
    d.tile = tile_width(t, winograd_tiles(d.rows, m) * winograd_tiles(l.out.w, m), d.channel_vectors);
    d.channel_block = l.in.c;
    d.padded = 1;
    return d;
  }
  int tc = d.channel_vectors * vw;
  d.rows = task_rows(l, (l.out.c + tc - 1) / tc, tc);
  if (l.out.c % tc == 0) d.span = default_span(l, l.out.c / tc, tc);
  if (int tile = registers_tile(l, t, d.channel_vectors)) {
    d.accumulators = 2, d.tile = tile, d.channel_block = l.in.c;
  } else {
    d.tile = buffer_tile(t, flat_pixels(l) ? d.rows * l.out.w : l.out.w, d.channel_vectors);
    d.channel_block = channel_block(l, d.channel_vectors * vw);
  }
  d.padded = default_padded_placement(l);
  return d;
}

}  // namespace


ConvKnobs default_conv_knobs(const Layer& l, const Target& t) { return default_knobs(l, t, default_algorithm(l)); }

ConvKnobs resolve_conv_knobs(const Layer& l, const Target& t, const ConvKnobs& knobs) {
  int algorithm = knobs.algorithm ? knobs.algorithm : default_algorithm(l);
  ConvKnobs r = knobs;
  auto bad = [&](const std::string& why) {
    return Error(fmt::format("conv {}: schedule knobs cv{} t{} r{} b{} o{} p{} s{} a{} m{}: {}", l.name,
                             r.channel_vectors, r.tile, r.rows, r.channel_block, r.order, r.padded, r.span,
                             r.algorithm, r.accumulators, why));
  };
  if (algorithm < 1 || algorithm > 3)
    throw bad("the algorithm must be 1 (direct), 2 (winograd F(2x2, 3x3)) or 3 (winograd F(4x4, 3x3))");
  if (algorithm >= 2 && !winograd_applies(l))
    throw bad("winograd takes 3x3 convolutions of stride 1 and padding 1 without groups");
  ConvKnobs d = default_knobs(l, t, algorithm);
  r.algorithm = algorithm;
  // A field left to the heuristic follows the fields given (rows and tile depend on the tile's
  // channels, the channel block on them too).
  if (!r.channel_vectors) r.channel_vectors = d.channel_vectors;
  int vw = vector_width(t, l.out.c);
  int channel_tiles = (l.out.c + r.channel_vectors * vw - 1) / (r.channel_vectors * vw);
  bool winograd = algorithm >= 2;
  int m = winograd_block(ConvAlgorithm(algorithm));
  int cig = l.in.c / l.groups;
  // The heuristic's place for the accumulators, unless the fields given rule it out.
  if (!r.accumulators)
    r.accumulators = winograd || (r.channel_block && r.channel_block != cig) || (r.tile && r.tile > l.out.w)
                         ? 1
                         : d.accumulators;
  if (!r.rows)
    r.rows = winograd ? winograd_rows(l, channel_tiles, m) : task_rows(l, channel_tiles, r.channel_vectors * vw);
  int tile_run = winograd ? winograd_tiles(r.rows, m) * winograd_tiles(l.out.w, m)
                 : flat_pixels(l) && r.accumulators == 1 ? r.rows * l.out.w
                                                         : l.out.w;
  if (!r.tile)
    r.tile = r.accumulators == d.accumulators && r.channel_vectors == d.channel_vectors && r.rows == d.rows
                 ? d.tile
                 : r.accumulators == 1 && !winograd ? buffer_tile(t, tile_run, r.channel_vectors)
                                                     : tile_width(t, tile_run, r.channel_vectors);
  if (!r.channel_block)
    r.channel_block = winograd || r.accumulators == 2 ? cig : channel_block(l, r.channel_vectors * vw);
  if (!r.order) r.order = d.order;
  if (!r.padded) r.padded = d.padded;
  if (!r.span) r.span = r.channel_vectors == d.channel_vectors ? d.span : 1;
  if (r.channel_vectors < 1 || r.channel_vectors > 4) throw bad("channel vectors must be 1..4");
  if (r.channel_vectors * vw > l.out.c)
    throw bad(fmt::format("a tile is wider than the {} output channels", l.out.c));
  if (r.rows < 1 || r.rows > l.out.h) throw bad(fmt::format("rows per task must be 1..{}", l.out.h));
  if (r.tile < 1 || r.tile > 32) throw bad("pixels per tile must be 1..32");
  if (r.channel_block < 1 || cig % r.channel_block != 0)
    throw bad(fmt::format("the channel block must divide the {} input channels", cig));
  if (r.order < 1 || r.order > 2) throw bad("the task order must be 1 or 2");
  if (r.padded < 1 || r.padded > 3) throw bad("the padded input's place must be 1, 2 or 3");
  if (l.padding == 0 && r.padded != 1) throw bad("the convolution has no padding: its place must be 1");
  if (r.span < 1 || (r.span > 1 && l.out.c % (r.channel_vectors * vw * r.span) != 0))
    throw bad(fmt::format("the span must be 1 or divide the {} whole channel tiles",
                          l.out.c / (r.channel_vectors * vw)));
  if (winograd && (r.padded != 1 || r.span != 1 || r.accumulators != 1))
    throw bad("winograd takes padded 1, span 1 and accumulators 1");
  if (r.accumulators < 1 || r.accumulators > 2) throw bad("the accumulators' place must be 1 or 2");
  if (r.accumulators == 2) {
    if (l.groups != 1) throw bad("accumulators in registers (2) take convolutions without groups");
    if (r.channel_block != cig)
      throw bad(fmt::format("accumulators in registers (2) take one channel block of all {} input channels", cig));
    if (r.tile > l.out.w)
      throw bad(fmt::format("accumulators in registers (2) take tiles along a row, at most its {} pixels", l.out.w));
  }
  return r;
}

bool conv_knobs_legal(const Layer& l, const Target& t, const ConvKnobs& knobs) {
  try {
    ConvKnobs r = resolve_conv_knobs(l, t, knobs), k = knobs;
    if (!k.order) k.order = r.order;  // a record that names neither: the heuristic's
    if (!k.padded) k.padded = r.padded;
    if (!k.span) k.span = r.span;
    if (!k.accumulators) k.accumulators = r.accumulators;
    if (!k.algorithm) k.algorithm = r.algorithm;
    return r == k;
  } catch (const Error&) {
    return false;
  }
}

bool conv_writes_each_output_once(const Layer& l, const Target& t, const ConvKnobs& knobs) {
  if (l.kind != LayerKind::conv) return false;
  ConvKnobs r = resolve_conv_knobs(l, t, knobs);
  int tc = r.channel_vectors * vector_width(t, l.out.c);
  // The splits a tail would shift inwards over elements already written: channels by the task's
  // tiles, rows by the task's rows, and a row by the tile where tiles run along rows (winograd
  // guards its blocks' tails instead). This mirrors how cpu_manual.cpp splits the output; the
  // ops tests run every residual case that qualifies written over its residual.
  bool rows = l.out.h % r.rows == 0;
  if (r.algorithm >= 2) return l.out.c % tc == 0 && rows;
  bool along_rows = r.accumulators == 2 || !flat_pixels(l);
  return l.out.c % (tc * r.span) == 0 && rows && (!along_rows || l.out.w % r.tile == 0);
}

ConvAlgorithm conv_algorithm(const Layer& l, const Target& t, const ConvKnobs& knobs) {
  if (l.kind != LayerKind::conv || t.has_gpu_feature()) return ConvAlgorithm::direct;
  return ConvAlgorithm(resolve_conv_knobs(l, t, knobs).algorithm);
}
}  // namespace resgen
