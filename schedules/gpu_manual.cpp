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

#include "schedules/schedules.hpp"

namespace resgen {
namespace {

using namespace Halide;

// Shared memory a block may use for its staged input: leaves room for two blocks per SM on
// every GPU resgen targets (48 KB is the portable static limit).
constexpr int kSharedBytes = 24 * 1024;

// The largest of `wanted`, `wanted/2`, ... that is at most `extent` (>= 1).
int fit(int wanted, int extent) {
  int f = std::max(1, wanted);
  while (f > 1 && f > extent) f /= 2;
  return std::min(f, std::max(1, extent));
}

struct ConvTiles {
  int tc, tx;      // a thread's register tile: channels x pixels of one row
  int bc, bx, by;  // threads of a block along channels, pixels, rows
};

ConvTiles conv_tiles(const Layer& l) {
  ConvTiles t{};
  t.tc = fit(4, l.out.c);
  t.tx = fit(4, l.out.w);
  // Grouped convolutions with few channels per group read many weights per output: keep the
  // channel tile within a group so a thread's weights are one group's.
  int cog = l.out.c / l.groups;
  if (l.groups > 1) t.tc = fit(t.tc, cog);
  t.bc = fit(16, l.out.c / t.tc);
  t.bx = fit(8, l.out.w / t.tx);
  t.by = fit(std::max(1, 256 / (t.bc * t.bx)), l.out.h);
  t.by = std::min(t.by, 8);
  return t;
}

void schedule_conv(const Layer& l, const KernelPipeline& k, const Target& target) {
  Func out = k.stage("output"), acc = k.stage("conv");
  Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
  Var cb("cb"), ct("ct"), ci("ci"), xb("xb"), xt("xt"), xi("xi"), yb("yb"), yt("yt"), ybn("ybn");
  ConvTiles t = conv_tiles(l);
  const TailStrategy shift = TailStrategy::ShiftInwards;
  out.split(c, cb, ct, t.bc * t.tc, shift)
      .split(ct, ct, ci, t.tc, shift)
      .split(x, xb, xt, t.bx * t.tx, shift)
      .split(xt, xt, xi, t.tx, shift)
      .split(y, yb, yt, t.by, shift)
      .reorder(ci, xi, ct, xt, yt, cb, xb, yb, n)
      .fuse(yb, n, ybn)  // GPUs have three block dimensions
      .unroll(ci)
      .unroll(xi)
      .gpu_blocks(cb, xb, ybn)
      .gpu_threads(ct, xt, yt);

  // The thread's accumulators: tc x tx registers; the reduction runs over them all.
  const RDom& r = k.reduction;
  std::vector<Var> pure = acc.args();  // (c, p, n) flattened or (c, x, y, n)
  acc.compute_at(out, ct);
  for (const Var& v : pure) acc.unroll(v);
  Stage update = acc.update();
  RVar rco("rco"), rci("rci");
  int cig = l.in.c / l.groups;
  int unroll_ci = cig % 4 == 0 ? 4 : (cig % 2 == 0 ? 2 : 1);
  if (flat_pixels(l))
    update.reorder(pure[0], pure[1], r.x, r.y, r.z, pure[2]);
  else
    update.reorder(pure[0], pure[1], pure[2], r.x, r.y, r.z, pure[3]);
  for (const Var& v : pure) update.unroll(v);
  if (unroll_ci > 1) update.split(r.x, rco, rci, unroll_ci, TailStrategy::GuardWithIf).unroll(rci);

  // The block's zero-extended input in shared memory, loaded by all its threads (spread over
  // the block's first two thread dimensions), when the block's input region fits.
  if (Func padded = k.stage("padded"); padded.defined() && l.groups == 1) {
    int rows = (t.by - 1) * l.stride + l.kernel;
    int cols = (t.bx * t.tx - 1) * l.stride + l.kernel;
    if (static_cast<int64_t>(rows) * cols * l.in.c * 4 <= kSharedBytes) {
      Var pc = padded.args()[0], px = padded.args()[1], py = padded.args()[2];
      Var pcx("pcx"), pall("pall"), po("po"), pi("pi"), p0("p0"), p1("p1");
      padded.compute_at(out, cb)
          .fuse(pc, px, pcx)
          .fuse(pcx, py, pall)
          .split(pall, po, pi, t.bc * t.bx, TailStrategy::GuardWithIf)
          .split(pi, p1, p0, t.bc)
          .gpu_threads(p0, p1);
    }
    // Otherwise it is inlined: each thread reads the input through the padding test.
  }
  (void)target;
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

// Linear: a thread per (class, image) runs the dot product; weights are (class, ...) with
// classes contiguous, so a warp's weight loads coalesce and the input is broadcast.
void schedule_linear(const Layer& l, const KernelPipeline& k) {
  Func out = k.stage("output"), acc = k.stage("reduce");
  Var c = out.args()[0], n = out.args()[1];
  Var cb("cb"), ct("ct");
  out.gpu_tile(c, cb, ct, fit(128, l.out.c), TailStrategy::GuardWithIf).gpu_blocks(n);
  acc.compute_at(out, ct);
  const RDom& r = k.reduction;
  RVar rxo("rxo"), rxi("rxi");
  if (l.in.c % 4 == 0) acc.update().split(r.x, rxo, rxi, 4).unroll(rxi);
}

}  // namespace

void schedule_gpu_manual(const Layer& l, const KernelPipeline& k, const Target& t) {
  switch (l.kind) {
    case LayerKind::conv: schedule_conv(l, k, t); break;
    case LayerKind::global_avg_pool: schedule_global_avg_pool(l, k); break;
    case LayerKind::linear: schedule_linear(l, k); break;
    default: schedule_elementwise(l, k); break;
  }
}

}  // namespace resgen
