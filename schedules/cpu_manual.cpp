// THE SCHEDULE, manual, for CPUs: applied to a kernel's named stages, never defines math.
//
// Convolutions follow the register-blocking pattern of Halide's apps/conv_layer: the
// output is tiled into (2 vectors of channels) x (tx pixels of a row); the tile's accumulators
// live in registers while the reduction over (ci, kx, ky) streams weights and broadcasts input
// scalars. Rows (and channel tiles, and images) are the parallel tasks; the zero-extended
// input rows a task needs are copied once per task, so the inner loop has no bounds checks.
#include "schedules/schedules.hpp"

namespace resgen {
namespace {

using namespace Halide;

// The widest power-of-two vector (in floats) not above `extent` and the target's natural width.
int vector_width(const Target& t, int extent) {
  int v = t.natural_vector_size<float>();
  while (v > 1 && v > extent) v /= 2;
  return v;
}

// Pixels per register tile. The tile's accumulators (vectors x pixels) must leave a few of the
// target's vector registers (16 with AVX2, 32 with AVX-512) for weights and broadcasts, and
// there should be at least 8 of them to cover the FMA latency. Among those widths, the one that
// wastes the fewest recomputed pixels at the row's end (ShiftInwards) wins; ties go wider.
int tile_width(const Target& t, int w, int vectors) {
  int regs = t.has_feature(Target::AVX512) ? 32 : 16;
  int cap = std::max(1, std::min(12, (regs - 4) / vectors));
  int lo = std::min(cap, std::max(1, (8 + vectors - 1) / vectors));
  if (w <= cap) return w;
  int best = cap, best_waste = w;
  for (int x = cap; x >= lo; --x) {
    int waste = (w + x - 1) / x * x - w;
    if (waste < best_waste) best = x, best_waste = waste;
  }
  return best;
}

void schedule_conv(const Layer& l, const KernelPipeline& k, const Target& t) {
  Func out = k.stage("output"), acc = k.stage("conv"), padded = k.stage("padded");
  Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
  Var co("co"), ci("ci"), xo("xo"), xi("xi"), task("task");
  int vw = vector_width(t, l.out.c);
  int tc = l.out.c % (2 * vw) == 0 ? 2 * vw : vw;
  int tx = tile_width(t, l.out.w, tc / vw);

  out.split(c, co, ci, tc, TailStrategy::ShiftInwards)
      .split(x, xo, xi, tx, TailStrategy::ShiftInwards)
      .reorder(ci, xi, xo, y, co, n)
      .vectorize(ci, vw)
      .unroll(ci)
      .unroll(xi)
      .fuse(y, co, task)
      .fuse(task, n, task)
      .parallel(task);

  acc.compute_at(out, xo).vectorize(c, vw).unroll(c).unroll(x);
  // The whole reduction runs inside the register tile: c (vectors) and x innermost.
  const RDom& r = k.reduction;
  acc.update().reorder(c, x, r.x, r.y, r.z).vectorize(c, vw).unroll(c).unroll(x);

  if (padded.defined()) {
    int pv = vector_width(t, l.in.c);
    padded.compute_at(out, task).vectorize(padded.args()[0], pv, TailStrategy::GuardWithIf);
  }
}

// Elementwise and pooling kernels: channels in vectors, rows (x images) in parallel.
void schedule_pointwise(const Layer& l, const KernelPipeline& k, const Target& t) {
  Func out = k.stage("output");
  Var c = out.args()[0], y = out.args()[2], n = out.args()[3];
  Var task("task");
  int vw = vector_width(t, l.out.c);
  if (l.out.c >= vw && vw > 1) out.vectorize(c, vw, TailStrategy::ShiftInwards);
  out.fuse(y, n, task).parallel(task);
  if (Func padded = k.stage("padded"); padded.defined()) {
    int pv = vector_width(t, l.in.c);
    padded.compute_at(out, task).vectorize(padded.args()[0], pv, TailStrategy::GuardWithIf);
  }
}

void schedule_global_avg_pool(const Layer& l, const KernelPipeline& k, const Target& t) {
  Func out = k.stage("output"), total = k.stage("reduce");
  Var c = out.args()[0], n = out.args()[3];
  int vw = vector_width(t, l.out.c);
  out.parallel(n);
  total.compute_at(out, n).vectorize(total.args()[0], vw, TailStrategy::GuardWithIf);
  total.update().vectorize(total.args()[0], vw, TailStrategy::GuardWithIf);
  (void)c;
}

void schedule_linear(const Layer& l, const KernelPipeline& k, const Target& t) {
  Func out = k.stage("output"), acc = k.stage("reduce");
  Var c = out.args()[0], n = out.args()[1];
  Var co("co"), ci("ci");
  int vw = vector_width(t, l.out.c);
  int tile = std::min(l.out.c, 4 * vw);
  out.split(c, co, ci, tile, TailStrategy::ShiftInwards).reorder(ci, n, co).vectorize(ci, vw).parallel(co);
  acc.compute_at(out, n).vectorize(acc.args()[0], vw, TailStrategy::GuardWithIf);
  acc.update().vectorize(acc.args()[0], vw, TailStrategy::GuardWithIf);
}

}  // namespace

void schedule_cpu_manual(const Layer& l, const KernelPipeline& k, const Target& t) {
  switch (l.kind) {
    case LayerKind::conv: schedule_conv(l, k, t); break;
    case LayerKind::global_avg_pool: schedule_global_avg_pool(l, k, t); break;
    case LayerKind::linear: schedule_linear(l, k, t); break;
    default: schedule_pointwise(l, k, t); break;
  }
}

}  // namespace resgen
