// THE SCHEDULE, manual, for CPUs: applied to a kernel's named stages, never defines math.
//
// Convolutions follow the register-blocking pattern of Halide's apps/conv_layer: the output is
// tiled into (2 vectors of channels) x (tx pixels); a tile's accumulators live in registers
// while the reduction over (ci, kx, ky) streams weights and broadcasts input scalars. A task
// (the unit of parallelism) is one channel tile x a few rows of one image; within it the input
// channels are blocked so a block's weights stay near L1 across all the task's tiles. A padded
// convolution's zero-extended input is copied before the reduction (once per layer, rows in
// parallel; per task when small), so the inner loop has no bounds checks. Convolutions without
// groups tile the task's pixels as one flattened run; grouped ones tile each row. A task may
// span several channel tiles, each pixel tile running over all of them while its input stays
// in L1. 3x3 convolutions of stride 1 on large enough maps use winograd, F(4x4, 3x3) from 28x28
// and F(2x2, 3x3) at 14x14 (schedule_winograd), whose matrix products take the same register
// tiles. With accumulators 2 (schedule_conv_in_registers) a register tile is instead reduced over
// all input channels in one pass and stored once through the epilogue, with no task buffer.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "generator/error.hpp"
#include "schedules/cpu_vectors.hpp"
#include "schedules/schedules.hpp"

namespace resgen {
namespace {

using namespace Halide;

// The zero-extended input a task reads, copied once per task with channels in vectors.
void compute_padded_at_task(const Layer& l, const KernelPipeline& k, Func out, Var task, const Target& t) {
  if (Func padded = k.stage("padded"); padded.defined())
    padded.compute_at(out, task).vectorize(padded.args()[0], vector_width(t, l.in.c),
                                           TailStrategy::GuardWithIf);
}

// The zero-extended input (default_padded_placement): once per layer, per task, or inlined.
void place_padded(const Layer& l, const KernelPipeline& k, Func out, Var task, const Target& t, const ConvKnobs& knobs) {
  if (Func padded = k.stage("padded"); padded.defined() && knobs.padded == 2) {
    Var pc = padded.args()[0], py = padded.args()[2], pn = padded.args()[3], rows("rows");
    padded.compute_root().fuse(py, pn, rows).parallel(rows);
    padded.vectorize(pc, vector_width(t, l.in.c), TailStrategy::GuardWithIf);
  } else if (knobs.padded == 1) {
    compute_padded_at_task(l, k, out, task, t);
  }
}

// Accumulators in registers (accumulators 2): a register tile (tc channels x `tile` pixels of one
// row) is computed whole where the output stores it, its reduction over every input channel in
// one pass, and the bias, residual and ReLU applied to the registers before the one store. The
// task buffer of schedule_conv (its accumulators written with the bias, reloaded and stored for
// each channel block, read again by the output) is gone; the channel tile's weights stream from
// L2 instead of staying in L1 for a block. A task's pixel tile runs over its `span` channel
// tiles while its input stays in L1.
void schedule_conv_in_registers(const Layer& l, const KernelPipeline& k, const Target& t, const ConvKnobs& knobs) {
  Func out = k.stage("output"), acc = k.stage("conv");
  Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
  Var co("co"), ci("ci"), ct("ct"), cc("cc"), xo("xo"), xi("xi"), yo("yo"), yi("yi"), task("task");
  int vw = vector_width(t, l.out.c), tc = knobs.channel_vectors * vw;
  out.split(c, co, ci, tc * knobs.span, TailStrategy::ShiftInwards)
      .split(y, yo, yi, knobs.rows, TailStrategy::ShiftInwards)
      .split(x, xo, xi, knobs.tile, TailStrategy::ShiftInwards)
      .split(ci, ct, cc, tc);
  Var inner = knobs.order == 2 ? co : yo, outer = knobs.order == 2 ? yo : co;
  out.reorder(cc, xi, ct, xo, yi, inner, outer, n).vectorize(cc, vw).unroll(cc).unroll(xi);
  out.fuse(inner, outer, task).fuse(task, n, task).parallel(task);

  // The tile's accumulators: every index constant once unrolled, so they are registers.
  const RDom& r = k.reduction;
  Var ac = acc.args()[0], ap = acc.args()[1];
  acc.compute_at(out, ct).vectorize(ac, vw).unroll(ac).unroll(ap);
  acc.update().reorder(ac, ap, r.x, r.y, r.z).vectorize(ac, vw).unroll(ac).unroll(ap);
  place_padded(l, k, out, task, t, knobs);
}

void schedule_conv(const Layer& l, const KernelPipeline& k, const Target& t, const ConvKnobs& knobs) {
  Func out = k.stage("output"), acc = k.stage("conv");
  Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
  Var co("co"), ci("ci"), xo("xo"), xi("xi"), yo("yo"), yi("yi"), task("task"), po("po"), pi("pi");
  // Without groups the accumulators run over the task's flattened pixels (tiles cross row
  // ends); grouped convolutions tile each row.
  bool flat = flat_pixels(l);
  int vw = vector_width(t, l.out.c);
  int tc = knobs.channel_vectors * vw, ty = knobs.rows, tile = knobs.tile, cib = knobs.channel_block;
  int span = knobs.span;

  // A task: one channel tile x `ty` rows of one image; its accumulators live in `acc`. Tasks
  // run a channel tile's row blocks in turn (order 1) or a row block's channel tiles (order 2).
  out.split(c, co, ci, tc * span, TailStrategy::ShiftInwards).split(y, yo, yi, ty, TailStrategy::ShiftInwards);
  Var inner = knobs.order == 2 ? co : yo, outer = knobs.order == 2 ? yo : co;
  if (flat)
    out.reorder(ci, x, yi, inner, outer, n);
  else
    out.split(x, xo, xi, tile, TailStrategy::ShiftInwards).reorder(ci, xi, xo, yi, inner, outer, n).unroll(xi);
  out.vectorize(ci, vw).unroll(ci).fuse(inner, outer, task).fuse(task, n, task).parallel(task);

  // The reduction: for each block of input channels, every register tile of the task; the
  // block's weights stay in L1 while the task's pixels stream past them. Within a block the
  // input channels are the innermost loop, unless the block is so short (the stem's 3 channels,
  // ResNeXt's groups of 4) that the kernel's taps make the longer inner loops: then taps inside,
  // x unrolled (measured in turns: the 7x7 stem in 0.76 to 0.92 of the time, ResNeXt's 3x3 on
  // groups of 4 in 0.64 to 0.72; groups of 8 and more no faster, or slower).
  const RDom& r = k.reduction;
  RVar rco("rco"), rci("rci");
  Var pixel = acc.args()[1];  // p (flattened) or x
  Var ct("ct"), cc("cc");
  acc.compute_at(out, task).vectorize(c, vw).unroll(c);
  Stage update = acc.update();
  update.split(pixel, po, pi, tile, TailStrategy::RoundUp).split(r.x, rco, rci, cib);
  update.split(c, ct, cc, tc);
  bool short_block = cib <= 4 && l.kernel > 1;
  std::vector<VarOrRVar> order = {cc, pi};
  if (short_block)
    order.insert(order.end(), {r.y, r.z, rci});
  else
    order.insert(order.end(), {rci, r.y, r.z});
  order.insert(order.end(), {ct, po});
  if (!flat) order.push_back(acc.args()[2]);
  order.push_back(rco);
  update.reorder(order).vectorize(cc, vw).unroll(cc).unroll(pi);
  if (short_block) update.unroll(r.y);

  place_padded(l, k, out, task, t, knobs);
}

// F(m x m, 3x3) winograd (generator/kernel.hpp). The transformed input V is made once per
// image (tiles in parallel) and read by every channel tile, or, in row bands (order 2) of at
// most two channel tiles, made by each task for its band. A task is `tc` output channels x
// `rows` output rows of one image: it transforms its channels' weights (U, kept in L2), multiplies
// the planes as matrices with the register tiles of the direct schedule ((tc / vw) vectors of
// channels x `tile` tiles, input channels streaming past), and transforms the products into
// output rows, x and y unrolled by m so the coefficients are constants. For m = 4 each
// transform's first pass is kept per vector of channels (its 36 or 24 values are shared by the
// second pass's planes); for m = 2 inlining them costs no more.
void schedule_winograd(const Layer& l, const KernelPipeline& k, const Target& t, const ConvKnobs& knobs) {
  Func out = k.stage("output"), V = k.stage("winograd_input"), U = k.stage("winograd_weights");
  Func M = k.stage("winograd_product");
  if (!V.defined()) throw Error("conv " + l.name + ": schedule knobs ask for winograd, the kernel is direct");
  int m = winograd_block(ConvAlgorithm(knobs.algorithm));
  Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
  Var co("co"), ci("ci"), xo("xo"), xi("xi"), yo("yo"), yi("yi"), yp("yp"), yq("yq"), task("task");
  int vw = vector_width(t, l.out.c), tc = knobs.channel_vectors * vw, rows = knobs.rows;

  out.split(c, co, ci, tc, TailStrategy::ShiftInwards).split(y, yo, yi, rows, TailStrategy::ShiftInwards);
  out.split(yi, yp, yq, m, TailStrategy::GuardWithIf).split(x, xo, xi, m, TailStrategy::GuardWithIf);
  Var inner = knobs.order == 2 ? co : yo, outer = knobs.order == 2 ? yo : co;
  out.reorder(ci, xi, yq, xo, yp, inner, outer, n).vectorize(ci, vw).unroll(ci).unroll(xi).unroll(yq);
  out.fuse(inner, outer, task).parallel(task);

  // Per image, in one buffer for the batch's images in turn: a batch's transformed inputs would
  // take 4x its activations, and a buffer per image is freed only when the kernel returns.
  Var vc = V.args()[0], vt = V.args()[1], ve = V.args()[2];
  if (knobs.order == 2 && (l.out.c + tc - 1) / tc <= 2) {
    // In row bands of at most two channel tiles, each task transforms its band's tiles itself
    // (at most twice over): the thread that wrote the band's input rows reads them, and the
    // tiles stay in its L2 (measured on a Zen 5, ResNet-18 and -50 at 56x56: whole libraries
    // 0.944 and 0.977 of the time with the processors on two dies, 0.997 and 1.004 on one).
    V.compute_at(out, task).reorder(ve, vc, vt);
    V.vectorize(vc, vector_width(t, l.in.c), TailStrategy::GuardWithIf).unroll(ve);
  } else {
    V.compute_at(out, n).hoist_storage_root().reorder(ve, vc, vt);
    V.vectorize(vc, vector_width(t, l.in.c), TailStrategy::GuardWithIf).unroll(ve);
    V.parallel(vt, 8, TailStrategy::GuardWithIf);
  }

  Var mc = M.args()[0], mt = M.args()[1], me = M.args()[2], to("to"), ti("ti");
  RVar rco("rco"), rci("rci");
  M.compute_at(out, task).vectorize(mc, vw).unroll(mc);
  M.update()
      .split(mt, to, ti, knobs.tile, TailStrategy::RoundUp)
      .split(k.reduction.x, rco, rci, knobs.channel_block)
      .reorder(mc, ti, rci, to, me, rco)
      .vectorize(mc, vw)
      .unroll(mc)
      .unroll(ti);
  // The weights of one block of input channels at a time.
  Var uco = U.args()[0], uci = U.args()[1], ue = U.args()[2];
  U.compute_at(M, rco).reorder(ue, uco, uci).vectorize(uco, vw).unroll(uco).unroll(ue);

  if (m == 4) {
    auto per_vector = [&](Func rows, Func consumer, Var at, int width) {
      Var rc = rows.args()[0], ri = rows.args()[2], rj = rows.args()[3];
      rows.compute_at(consumer, at).vectorize(rc, width, TailStrategy::GuardWithIf).unroll(ri).unroll(rj);
    };
    per_vector(k.stage("winograd_input_rows"), V, vc, vector_width(t, l.in.c));
    per_vector(k.stage("winograd_weights_rows"), U, uco, vw);
    per_vector(k.stage("winograd_output_rows"), out, xo, vw);
  }
}

// Elementwise and pooling kernels: channels in vectors, rows (x images) in parallel.
void schedule_elementwise(const Layer& l, const KernelPipeline& k, const Target& t) {
  Func out = k.stage("output");
  Var c = out.args()[0], y = out.args()[2], n = out.args()[3];
  Var task("task");
  int vw = vector_width(t, l.out.c);
  if (l.out.c >= vw && vw > 1) out.vectorize(c, vw, TailStrategy::ShiftInwards);
  out.fuse(y, n, task).parallel(task);
  compute_padded_at_task(l, k, out, task, t);
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

// A linear layer with large weights (ImageNet's 2048 x 1000: 8 MB, read once per run from memory)
// streams them row by row: each of up to 16 parallel parts reduces a contiguous run of input
// channels (whole rows of K weights) into its own partial sums, for every image of the batch,
// and the parts are summed. Tiles of output channels would read 128 bytes of each 4 KB row, a
// pattern the prefetchers cannot follow (measured: 1.3 to 1.6x faster at batch 1 with the weights
// cold, 2.1x at batch 8).
void schedule_linear_rows(const Layer& l, const KernelPipeline& k, const Target& t) {
  Func out = k.stage("output"), acc = k.stage("reduce");
  Var c = out.args()[0], n = out.args()[1], u("u");
  int vw = vector_width(t, l.out.c);
  const RDom& r = k.reduction;
  RVar rxo("rxo"), rxi("rxi");
  int parts = 16;
  while (parts > 1 && l.in.c % parts) parts /= 2;
  Func part = acc.update().split(r.x, rxo, rxi, l.in.c / parts).rfactor(rxo, u);
  Var pc = part.args()[0], pn = part.args()[1];
  part.compute_root().vectorize(pc, vw, TailStrategy::GuardWithIf);
  part.update().reorder(pc, pn, rxi, r.y, r.z, u).vectorize(pc, vw, TailStrategy::GuardWithIf).parallel(u);
  out.vectorize(c, vw, TailStrategy::GuardWithIf);
  acc.compute_at(out, n).vectorize(acc.args()[0], vw, TailStrategy::GuardWithIf);
  acc.update().vectorize(acc.args()[0], vw, TailStrategy::GuardWithIf);
}

void schedule_linear(const Layer& l, const KernelPipeline& k, const Target& t) {
  if (int64_t(4) * l.out.c * l.in.c * l.in.w * l.in.h >= 256 * 1024) return schedule_linear_rows(l, k, t);
  Func out = k.stage("output"), acc = k.stage("reduce");
  Var c = out.args()[0], n = out.args()[1];
  Var co("co"), ci("ci");
  int vw = vector_width(t, l.out.c);
  int tile = std::min(l.out.c, 4 * vw);
  out.split(c, co, ci, tile, TailStrategy::ShiftInwards).reorder(ci, n, co).vectorize(ci, vw).parallel(co);
  // The tile's accumulators stay in registers across the whole reduction: the tile's vectors
  // are the innermost loop, inside the reduction (one pass over the weights, independent FMAs).
  acc.compute_at(out, n).vectorize(acc.args()[0], vw, TailStrategy::GuardWithIf);
  const RDom& r = k.reduction;
  Var cv("cv"), cl("cl");
  Stage update = acc.update();
  if (tile % vw == 0)
    update.split(acc.args()[0], cv, cl, vw).reorder(cl, cv, r.x, r.y, r.z).vectorize(cl).unroll(cv);
  else
    update.vectorize(acc.args()[0], vw, TailStrategy::GuardWithIf);
}
}  // namespace

void schedule_cpu_manual(const Layer& l, const KernelPipeline& k, const Target& t, const ConvKnobs& knobs) {
  switch (l.kind) {
    case LayerKind::conv: {
      ConvKnobs r = resolve_conv_knobs(l, t, knobs);
      if (r.algorithm >= 2)
        schedule_winograd(l, k, t, r);
      else if (r.accumulators == 2)
        schedule_conv_in_registers(l, k, t, r);
      else
        schedule_conv(l, k, t, r);
      break;
    }
    case LayerKind::global_avg_pool: schedule_global_avg_pool(l, k, t); break;
    case LayerKind::linear: schedule_linear(l, k, t); break;
    default: schedule_elementwise(l, k, t); break;
  }
}

}  // namespace resgen
