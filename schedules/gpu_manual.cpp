// THE SCHEDULE, manual, for GPUs (CUDA, OpenCL, Vulkan): applied to a kernel's named stages,
// never defines math.
//
// Convolutions follow the register-tile pattern of GPU matrix products: a thread owns a tile
// of tc output channels x tx pixels of one row, whose accumulators (the "conv" stage, computed
// at the thread) live in registers while the reduction over (ci, kx, ky) streams weights
// (contiguous in channels, so a warp's loads coalesce) and broadcasts input pixels. A block is
// bc x bx x by threads: neighbouring threads take neighbouring channel tiles, so they read the
// same input pixels and adjacent weights. The zero-extended input a block reads ("padded") is
// staged in shared memory when it fits, so the padding checks and the input loads happen once
// per block instead of once per thread and tap. Fused epilogues (bias, residual add, ReLU) are
// computed where the output is stored, as on the CPU.
//
// Tiles never cross the output's edges (ShiftInwards): every register tile has constant
// extents, so its accumulators can be registers and its loops unrolled.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>

#include "generator/error.hpp"
#include "schedules/schedules.hpp"

namespace resgen {
namespace {

using namespace Halide;

// Shared memory a block may use for its staged input: leaves room for two blocks per SM on
// every GPU resgen targets (48 KB is the portable static limit).
constexpr int kSharedBytes = 24 * 1024;

// Batches from this size on run the large-batch tiles (a specialization of every convolution,
// chosen per run from the output's batch extent). Measured at batches 1 and 32 only.
constexpr int kLargeBatch = 8;

// The largest of `wanted`, `wanted/2`, ... that is at most `extent` (>= 1).
int fit(int wanted, int extent) {
  int f = std::max(1, wanted);
  while (f > 1 && f > extent) f /= 2;
  return std::min(f, std::max(1, extent));
}

// Tile sizes before fitting to a layer.
struct WantedTiles {
  int tc = 4, tx = 4;              // a thread's register tile: channels x pixels of one row
  int bc = 16, bx = 8;             // threads of a block along channel tiles and pixel tiles
  int threads = 256;               // threads of a block (rows make up the rest)
  int shared = kSharedBytes;       // the largest staged input; 0: never staged
  int vector = 0;                  // the channel tile as one vector: 4-wide weight loads
  int taps = 0;                    // the kernel's taps unrolled too
};

struct ConvTiles {
  int tc, tx, bc, bx, by;          // as WantedTiles, fitted; by: rows of threads
  int shared_bytes;
  bool vector, taps;
  bool operator==(const ConvTiles&) const = default;
};

// For measurement sweeps (benchmarks/gpu/prepare.sh): RESGEN_GPU_CONV_TILES="tc=8,tx=4,bc=16,
// bx=8,threads=256,shared=0,vector=1,taps=1", any subset, replaces the rule below for every
// convolution and batch. Not a user setting: a library generated under it says nothing of it.
std::optional<WantedTiles> tiles_from_environment() {
  const char* env = std::getenv("RESGEN_GPU_CONV_TILES");
  if (!env || !*env) return std::nullopt;
  WantedTiles w;
  std::stringstream items(env);
  std::string item;
  while (std::getline(items, item, ',')) {
    auto eq = item.find('=');
    std::string key = item.substr(0, eq);
    int* field = key == "tc" ? &w.tc : key == "tx" ? &w.tx : key == "bc" ? &w.bc : key == "bx" ? &w.bx
               : key == "threads" ? &w.threads : key == "shared" ? &w.shared : key == "vector" ? &w.vector
               : key == "taps" ? &w.taps : nullptr;
    int value = 0;
    try {
      if (eq != std::string::npos) value = std::stoi(item.substr(eq + 1));
    } catch (const std::exception&) {
    }
    bool zero_ok = key == "shared" || key == "vector" || key == "taps";
    if (!field || value < (zero_ok ? 0 : 1))
      throw Error("RESGEN_GPU_CONV_TILES: '" + item +
                  "' is not one of tc, tx, bc, bx, threads (>= 1), shared, vector, taps (>= 0)");
    *field = value;
  }
  return w;
}

// The rule, from a sweep of 15 tilings of resnet50 on an H100 at batches 1 and 32, layer by
// layer (benchmarks/gpu/README.md). Larger register tiles (8 channels or 8 pixels) lost
// everywhere, by up to 5x: a thread's tile stays at 4x4 or smaller.
//   - Large batches: 4-wide weight loads (1x1s and wide 3x3s gained 25 to 35%); 3x3s on maps
//     of 14x14 or less and the 7x7 stem unroll their taps instead (15 to 30%).
//   - Small batches have few output tiles, so the GPU is filled by smaller ones: one channel
//     per thread, 32 threads across channels, for 1x1s and for 3x3s on 8x8 to 28x28 maps
//     (1.2 to 2x); 3x3s of stride 2 onto 7x7 maps and the stem unroll their taps.
WantedTiles wanted_tiles(const Layer& l, bool large_batch) {
  WantedTiles w;
  bool three = l.kernel == 3, small_map = l.out.w <= 14;
  if (large_batch) {
    if ((three && small_map) || l.kernel == 7)
      w.taps = 1;
    else
      w.vector = 1;
  } else if (l.kernel == 1 || (three && l.out.w > 7 && l.out.w <= 28)) {
    w.tc = 1, w.bc = 32;
  } else if ((three && l.out.w <= 7 && l.stride == 2) || l.kernel == 7) {
    w.taps = 1;
  }
  return w;
}

ConvTiles fit_tiles(const Layer& l, const WantedTiles& w) {
  ConvTiles t{};
  t.tc = fit(w.tc, l.out.c);
  t.tx = fit(w.tx, l.out.w);
  // Grouped convolutions with few channels per group read many weights per output: keep the
  // channel tile within a group so a thread's weights are one group's.
  int cog = l.out.c / l.groups;
  if (l.groups > 1) t.tc = fit(t.tc, cog);
  t.bc = fit(w.bc, l.out.c / t.tc);
  t.bx = fit(w.bx, l.out.w / t.tx);
  t.by = fit(std::max(1, w.threads / (t.bc * t.bx)), l.out.h);
  t.by = std::min(t.by, 8);
  t.shared_bytes = w.shared;
  t.vector = w.vector && t.tc % 4 == 0;
  t.taps = w.taps && l.kernel > 1;
  return t;
}

struct ConvVars {
  Var c, x, y, n;  // the output's
  Var cb{"cb"}, ct{"ct"}, ci{"ci"}, xb{"xb"}, xt{"xt"}, xi{"xi"}, yb{"yb"}, yt{"yt"}, ybn{"ybn"};
};

// The output's loops: blocks of threads, each thread a register tile. Every specialization
// uses the same names, so producers computed at ct or cb find their loop in each.
void tile_output(Stage out, const ConvVars& v, const ConvTiles& t) {
  const TailStrategy shift = TailStrategy::ShiftInwards;
  out.split(v.c, v.cb, v.ct, t.bc * t.tc, shift)
      .split(v.ct, v.ct, v.ci, t.tc, shift)
      .split(v.x, v.xb, v.xt, t.bx * t.tx, shift)
      .split(v.xt, v.xt, v.xi, t.tx, shift)
      .split(v.y, v.yb, v.yt, t.by, shift)
      .reorder(v.ci, v.xi, v.ct, v.xt, v.yt, v.cb, v.xb, v.yb, v.n)
      .fuse(v.yb, v.n, v.ybn)  // GPUs have three block dimensions
      .unroll(v.xi)
      .gpu_blocks(v.cb, v.xb, v.ybn)
      .gpu_threads(v.ct, v.xt, v.yt);
  t.vector ? out.vectorize(v.ci) : out.unroll(v.ci);
}

// The thread's accumulators (tc x tx registers) and the reduction that runs over them all.
void tile_accumulators(const Layer& l, const KernelPipeline& k, Stage pure, Stage update, const ConvTiles& t) {
  std::vector<Var> vars = k.stage("conv").args();  // (c, p, n) flattened or (c, x, y, n)
  for (std::size_t i = 0; i < vars.size(); ++i) i == 0 && t.vector ? pure.vectorize(vars[0], t.tc) : pure.unroll(vars[i]);
  const RDom& r = k.reduction;
  if (flat_pixels(l))
    update.reorder(vars[0], vars[1], r.x, r.y, r.z, vars[2]);
  else
    update.reorder(vars[0], vars[1], vars[2], r.x, r.y, r.z, vars[3]);
  for (std::size_t i = 0; i < vars.size(); ++i)
    i == 0 && t.vector ? update.vectorize(vars[0], t.tc) : update.unroll(vars[i]);
  int cig = l.in.c / l.groups;
  int unroll_ci = cig % 4 == 0 ? 4 : (cig % 2 == 0 ? 2 : 1);
  RVar rco("rco"), rci("rci");
  if (unroll_ci > 1) update.split(r.x, rco, rci, unroll_ci, TailStrategy::GuardWithIf).unroll(rci);
  if (t.taps) update.unroll(r.y).unroll(r.z);
}

void schedule_conv(const Layer& l, const KernelPipeline& k) {
  Func out = k.stage("output"), acc = k.stage("conv");
  ConvVars v{out.args()[0], out.args()[1], out.args()[2], out.args()[3]};
  std::optional<WantedTiles> forced = tiles_from_environment();
  const ConvTiles small = fit_tiles(l, forced ? *forced : wanted_tiles(l, false));
  const ConvTiles large = fit_tiles(l, forced ? *forced : wanted_tiles(l, true));

  // Specializations first: each inherits the schedule its Func has when it is made.
  acc.compute_at(out, v.ct);
  if (!(small == large)) {
    Expr big = out.output_buffer().dim(3).extent() >= kLargeBatch;
    tile_output(out.specialize(big), v, large);
    tile_accumulators(l, k, acc.specialize(big), acc.update().specialize(big), large);
  }
  tile_output(out, v, small);
  tile_accumulators(l, k, acc, acc.update(), small);

  // The block's zero-extended input in shared memory, loaded by all its threads (spread over
  // the block's first two thread dimensions, as the small-batch tiles lay them out), when the
  // block's input region fits in every specialization.
  if (Func padded = k.stage("padded"); padded.defined() && l.groups == 1) {
    auto bytes = [&](const ConvTiles& t) {
      int64_t rows = (t.by - 1) * l.stride + l.kernel, cols = (t.bx * t.tx - 1) * l.stride + l.kernel;
      return rows * cols * l.in.c * 4;
    };
    if (bytes(small) <= small.shared_bytes && bytes(large) <= large.shared_bytes) {
      Var pc = padded.args()[0], px = padded.args()[1], py = padded.args()[2];
      Var pcx("pcx"), pall("pall"), po("po"), pi("pi"), p0("p0"), p1("p1");
      padded.compute_at(out, v.cb)
          .fuse(pc, px, pcx)
          .fuse(pcx, py, pall)
          .split(pall, po, pi, small.bc * small.bx, TailStrategy::GuardWithIf)
          .split(pi, p1, p0, small.bc)
          .gpu_threads(p0, p1);
    }
    // Otherwise it is inlined: each thread reads the input through the padding test.
  }
}

// Elementwise and pooling kernels: one thread per output element, consecutive threads on
// consecutive channels (the innermost, contiguous dimension).
void schedule_elementwise(const Layer& l, const KernelPipeline& k) {
  Func out = k.stage("output");
  Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
  Var cx("cx"), all("all"), b("b"), th("th");
  if (l.kind == LayerKind::to_nhwc) {
    // The input is NCHW: threads along x read contiguous floats; writes are strided.
    out.reorder(x, c, y, n).fuse(x, c, cx).fuse(cx, y, all);
  } else {
    out.fuse(c, x, cx).fuse(cx, y, all);
  }
  out.gpu_tile(all, b, th, 256, TailStrategy::GuardWithIf).gpu_blocks(n);
}

// Global average pooling: a thread per (channel, image) sums the image's pixels.
void schedule_global_avg_pool(const Layer& l, const KernelPipeline& k) {
  Func out = k.stage("output"), total = k.stage("reduce");
  Var c = out.args()[0], n = out.args()[3];
  Var cb("cb"), ct("ct");
  out.gpu_tile(c, cb, ct, fit(128, l.out.c), TailStrategy::GuardWithIf).gpu_blocks(n);
  total.compute_at(out, ct);
}

// Linear: a block per (32 classes, image). Its threads split the dot products 16 ways: thread
// (class, part) sums a 16th of the inputs into shared memory (weights are (class, ...) with
// classes contiguous, so a warp's loads coalesce), then a thread per class adds the 16 parts.
// One thread per whole dot product left 1000 threads for ResNet-50's classifier: 0.24 ms on
// an H100, most of it one thread's chain of 2048 dependent loads.
void schedule_linear(const Layer& l, const KernelPipeline& k) {
  Func out = k.stage("output"), acc = k.stage("reduce");
  Var c = out.args()[0], n = out.args()[1];
  Var cb("cb"), ct("ct"), u("u");
  const RDom& r = k.reduction;
  const int classes = fit(32, l.out.c);
  out.gpu_tile(c, cb, ct, classes, TailStrategy::GuardWithIf).gpu_blocks(n);
  acc.compute_at(out, ct);
  int parts = 1;
  while (parts < 16 && l.in.c % (parts * 2) == 0 && l.in.c / (parts * 2) >= 8) parts *= 2;
  if (parts == 1) return;
  RVar rxo("rxo"), rxi("rxi");
  Func part = acc.update().split(r.x, rxo, rxi, l.in.c / parts).rfactor(rxo, u);
  Var pc = part.args()[0];
  part.compute_at(out, cb).reorder(pc, u).gpu_threads(pc, u);
  part.update().reorder(pc, u).gpu_threads(pc, u);
}

}  // namespace

void schedule_gpu_manual(const Layer& l, const KernelPipeline& k, const Target&) {
  switch (l.kind) {
    case LayerKind::conv: schedule_conv(l, k); break;
    case LayerKind::global_avg_pool: schedule_global_avg_pool(l, k); break;
    case LayerKind::linear: schedule_linear(l, k); break;
    default: schedule_elementwise(l, k); break;
  }
}

}  // namespace resgen
