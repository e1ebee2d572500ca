// THE ALGORITHM of every layer kind, as Halide Funcs. Schedules live in schedules/.
//
// Activations are Halide buffers (c, x, y, n): NHWC in memory, dense, shapes fixed at
// generation time except the batch n.
#include "generator/kernel.hpp"

#include <functional>

#include "generator/error.hpp"

namespace resgen {
namespace {

using namespace Halide;

Var c("c"), x("x"), y("y"), n("n");

// A dense NHWC activation (c, x, y, n) of per-image shape s.
void constrain_nhwc(OutputImageParam p, Shape s, std::vector<int>* estimate) {
  *estimate = {s.c, s.w, s.h, 1};
  p.dim(0).set_bounds(0, s.c).set_stride(1);
  p.dim(1).set_bounds(0, s.w).set_stride(s.c);
  p.dim(2).set_bounds(0, s.h).set_stride(s.c * s.w);
  p.dim(3).set_min(0).set_stride(s.c * s.w * s.h);
}

void constrain_dense(OutputImageParam p, const std::vector<int>& extents, std::vector<int>* estimate) {
  *estimate = extents;
  int stride = 1;
  for (std::size_t d = 0; d < extents.size(); ++d) {
    p.dim(d).set_bounds(0, extents[d]).set_stride(stride);
    stride *= extents[d];
  }
}

struct Builder {
  const Layer& l;
  KernelPipeline k;

  ImageParam image(const std::string& name, int dims) {
    ImageParam p(Float(32), dims, name);
    k.params.push_back(p);
    k.args.push_back(p);
    return p;
  }

  ImageParam activation(const std::string& name, Shape s) {
    ImageParam p = image(name, 4);
    constrain_nhwc(p, s, &k.estimates[name]);
    return p;
  }

  Func named(const std::string& stage) {
    Func f(stage);
    k.stages[stage] = f;
    return f;
  }

  void finish(Func out, Expr value, bool nhwc = true) {
    if (l.relu) value = max(value, 0.0f);
    if (nhwc) {
      out(c, x, y, n) = value;
      constrain_nhwc(out.output_buffer(), l.out, &k.output_estimate);
    }
    k.output = out;
    k.stages["output"] = out;
  }

  // The residual term of a fused epilogue.
  Expr residual(ImageParam r) {
    if (l.residual == Residual::same) return r(c, x, y, n);
    Expr rc = c - l.res_pad_before;
    Expr inside = rc >= 0 && rc < l.res.c;
    return select(inside, r(clamp(rc, 0, l.res.c - 1), x * l.res_stride, y * l.res_stride, n), 0.0f);
  }

  // input zero-extended outside [0, W) x [0, H): the conv's and pools' padding.
  Func zero_extended(ImageParam in, Expr outside) {
    Func padded = named("padded");
    Expr inside = x >= 0 && x < l.in.w && y >= 0 && y < l.in.h;
    padded(c, x, y, n) =
        select(inside, in(c, clamp(x, 0, l.in.w - 1), clamp(y, 0, l.in.h - 1), n), outside);
    return padded;
  }

  Func right_clamped(ImageParam in) {
    Func clamped = named("input_clamped");
    clamped(c, x, y, n) = in(c, min(x, l.in.w - 1), y, n);
    return clamped;
  }

  // A convolution's arguments, in the runtime's order: input, [residual], weights, bias.
  struct ConvArgs {
    ImageParam in, res, w, b;
    bool blocked;
    Expr weight(Expr co, Expr ci, Expr kx, Expr ky) const {
      return blocked ? w(co % kWeightBlock, ci, kx, ky, co / kWeightBlock) : w(co, ci, kx, ky);
    }
  };

  ConvArgs conv_args() {
    ConvArgs a;
    a.in = activation("input", l.in);
    if (l.residual != Residual::none) a.res = activation("residual", l.res);
    int cig = l.in.c / l.groups;
    a.blocked = conv_weights_blocked(l);
    a.w = image("weights", a.blocked ? 5 : 4);
    if (a.blocked)  // (t, ci, kx, ky, block)
      constrain_dense(a.w, {kWeightBlock, cig, l.kernel, l.kernel, l.out.c / kWeightBlock}, &k.estimates[a.w.name()]);
    else  // (co, ci, kx, ky)
      constrain_dense(a.w, {l.out.c, cig, l.kernel, l.kernel}, &k.estimates[a.w.name()]);
    a.b = image("bias", 1);
    constrain_dense(a.b, {l.out.c}, &k.estimates[a.b.name()]);
    return a;
  }

  void conv() {
    ConvArgs a = conv_args();
    ImageParam in = a.in, res = a.res, b = a.b;
    int cig = l.in.c / l.groups, cog = l.out.c / l.groups;

    Func acc = named("conv");
    if (flat_pixels(l)) {
      // Without groups a convolution is a matrix product over output pixels: its accumulators
      // take the flattened pixel p = x + W * y, so a schedule can tile pixels across row ends.
      // Tiles rounded up past the last pixel re-read it; those outputs are never stored.
      Var p("p");
      Expr q = min(p, l.out.w * l.out.h - 1);
      Expr ox = (q % l.out.w) * l.stride - l.padding, oy = (q / l.out.w) * l.stride - l.padding;
      Func src = l.padding > 0 ? zero_extended(in, 0.0f) : Func(in);
      RDom r(0, cig, 0, l.kernel, 0, l.kernel, "r");
      k.reduction = r;
      acc(c, p, n) = b(c);
      acc(c, p, n) += a.weight(c, r.x, r.y, r.z) * src(r.x, ox + r.y, oy + r.z, n);
      Expr v = acc(c, x + l.out.w * y, n);
      if (l.residual != Residual::none) v += residual(res);
      finish(named("output"), v);
      return;
    }
    // Without padding, columns past the right edge repeat the last one: a schedule may round a
    // row up to whole register tiles, and those extra outputs are never stored.
    Func src = l.padding > 0 ? zero_extended(in, 0.0f) : right_clamped(in);
    RDom r(0, cig, 0, l.kernel, 0, l.kernel, "r");
    k.reduction = r;
    Expr ci = l.groups == 1 ? Expr(r.x) : (c / cog) * cig + r.x;
    acc(c, x, y, n) = b(c);
    acc(c, x, y, n) += a.weight(c, r.x, r.y, r.z) *
                       src(ci, x * l.stride + r.y - l.padding, y * l.stride + r.z - l.padding, n);
    Expr v = acc(c, x, y, n);
    if (l.residual != Residual::none) v += residual(res);
    finish(named("output"), v);
  }

  // F(m x m, 3x3): Y = A^T [(G g G^T) . (B^T d B)] A for each (m + 2)^2 input tile d (origin
  // m * tile - 1) and m x m output block Y, summed over input channels before the output
  // transform. Each transform runs along x, then along y.
  struct WinogradTransforms {
    std::vector<std::vector<float>> BT, G, AT;  // (m + 2) x (m + 2), (m + 2) x 3, m x (m + 2)
  };
  static const WinogradTransforms& winograd_transforms(int m) {
    static const WinogradTransforms f2{{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
                                       {{1, 0, 0}, {.5f, .5f, .5f}, {.5f, -.5f, .5f}, {0, 0, 1}},
                                       {{1, 1, 1, 0}, {0, 1, -1, -1}}};
    // Interpolation points 0, 1, -1, 2, -2 and infinity.
    static const WinogradTransforms f4{{{4, 0, -5, 0, 1, 0},
                                        {0, -4, -4, 1, 1, 0},
                                        {0, 4, -4, -1, 1, 0},
                                        {0, -2, -1, 2, 1, 0},
                                        {0, 2, -1, -2, 1, 0},
                                        {0, 4, 0, -5, 0, 1}},
                                       {{1.f / 4, 0, 0},
                                        {-1.f / 6, -1.f / 6, -1.f / 6},
                                        {-1.f / 6, 1.f / 6, -1.f / 6},
                                        {1.f / 24, 1.f / 12, 1.f / 6},
                                        {1.f / 24, -1.f / 12, 1.f / 6},
                                        {0, 0, 1}},
                                       {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}};
    return m == 4 ? f4 : f2;
  }

  // sum_k row[k] * at(k), the zero coefficients left out.
  static Expr combine(const std::vector<float>& row, const std::function<Expr(int)>& at) {
    Expr v;
    for (std::size_t k = 0; k < row.size(); ++k)
      if (row[k] != 0) {
        Expr term = row[k] == 1 ? at(int(k)) : row[k] * at(int(k));
        v = v.defined() ? v + term : term;
      }
    return v;
  }

  void conv_winograd(int m) {
    const WinogradTransforms& f = winograd_transforms(m);
    int side = m + 2;
    ConvArgs a = conv_args();
    ImageParam in = a.in, res = a.res, b = a.b;

    int tiles_x = winograd_tiles(l.out.w, m);
    Var t("t"), e("e"), i("i"), j("j"), co("co"), ci("ci");
    Func src = zero_extended(in, 0.0f);
    Expr tx = t % tiles_x, ty = t / tiles_x;
    // Row j of a tile transformed along x: Vx(c, t, i, j) = sum_dx BT[i][dx] d(dx, j); plane
    // e = i + side * jt of V then transforms Vx's column i along y. U and the output alike.
    Func Vx = named("winograd_input_rows"), Ux = named("winograd_weights_rows");
    std::vector<Expr> rows_v, rows_u, planes_v, planes_u;
    for (int r = 0; r < side; ++r) {
      rows_v.push_back(combine(f.BT[r], [&](int dx) { return src(c, m * tx - 1 + dx, m * ty - 1 + j, n); }));
      rows_u.push_back(combine(f.G[r], [&](int kx) { return a.weight(co, ci, kx, j); }));
    }
    Vx(c, t, i, j, n) = mux(i, rows_v);
    Ux(co, ci, i, j) = mux(i, rows_u);
    for (int jt = 0; jt < side; ++jt)
      for (int it = 0; it < side; ++it) {
        planes_v.push_back(combine(f.BT[jt], [&](int dy) { return Vx(c, t, it, dy, n); }));
        planes_u.push_back(combine(f.G[jt], [&](int ky) { return Ux(co, ci, it, ky); }));
      }
    Func V = named("winograd_input"), U = named("winograd_weights"), M = named("winograd_product");
    V(c, t, e, n) = mux(e, planes_v);
    U(co, ci, e) = mux(e, planes_u);
    RDom r(0, l.in.c, "r");
    k.reduction = r;
    M(co, t, e, n) = 0.0f;
    M(co, t, e, n) += U(co, r, e) * V(r, t, e, n);

    // The output transform; a schedule that unrolls x and y by m from multiples of m makes the
    // coefficients constants.
    Func Mx = named("winograd_output_rows");
    std::vector<Expr> rows_m;
    for (int p = 0; p < m; ++p) rows_m.push_back(combine(f.AT[p], [&](int it) { return M(c, t, it + side * j, n); }));
    Mx(c, t, i, j, n) = mux(i, rows_m);
    Expr tile = x / m + tiles_x * (y / m), px = x % m, py = y % m;
    Expr v = b(c);
    for (int jt = 0; jt < side; ++jt) {
      std::vector<Expr> coefficient;
      for (int p = 0; p < m; ++p) coefficient.push_back(f.AT[p][jt]);
      v += mux(py, coefficient) * Mx(c, tile, px, jt, n);
    }
    if (l.residual != Residual::none) v += residual(res);
    finish(named("output"), v);
  }

  void elementwise() {
    if (l.kind == LayerKind::to_nhwc) {
      ImageParam in = image("input", 4);  // NCHW: (x, y, c, n)
      constrain_dense(in, {l.in.w, l.in.h, l.in.c}, &k.estimates[in.name()]);
      k.estimates[in.name()].push_back(1);
      in.dim(3).set_min(0).set_stride(l.in.c * l.in.h * l.in.w);
      finish(named("output"), in(x, y, c, n));
      return;
    }
    ImageParam in = activation("input", l.in);
    Expr v;
    switch (l.kind) {
      case LayerKind::affine: {
        ImageParam scale = image("weights", 1), shift = image("bias", 1);
        constrain_dense(scale, {l.out.c}, &k.estimates[scale.name()]);
        constrain_dense(shift, {l.out.c}, &k.estimates[shift.name()]);
        v = in(c, x, y, n) * scale(c) + shift(c);
        break;
      }
      case LayerKind::relu: v = max(in(c, x, y, n), 0.0f); break;
      case LayerKind::add: {
        ImageParam r = activation("residual", l.res);
        v = in(c, x, y, n) + r(c, x, y, n);
        break;
      }
      case LayerKind::pad_channels: {
        Expr ic = c - l.res_pad_before;
        v = select(ic >= 0 && ic < l.in.c, in(clamp(ic, 0, l.in.c - 1), x * l.stride, y * l.stride, n), 0.0f);
        break;
      }
      default: break;
    }
    finish(named("output"), v);
  }

  void pool() {
    ImageParam in = activation("input", l.in);
    bool is_max = l.kind == LayerKind::max_pool;
    Func src = l.padding > 0 ? zero_extended(in, is_max ? Expr(-INFINITY) : Expr(0.0f)) : Func(in);
    RDom r(0, l.kernel, 0, l.kernel, "r");
    Expr at = src(c, x * l.stride + r.x - l.padding, y * l.stride + r.y - l.padding, n);
    // avg_pool counts the padding (PyTorch's count_include_pad=True).
    Expr v = is_max ? maximum(at) : sum(at) / float(l.kernel * l.kernel);
    finish(named("output"), v);
  }

  void global_avg_pool() {
    ImageParam in = activation("input", l.in);
    RDom r(0, l.in.w, 0, l.in.h, "r");
    Func total = named("reduce");
    total(c, n) = 0.0f;
    total(c, n) += in(c, r.x, r.y, n);
    finish(named("output"), total(c, n) / float(l.in.w * l.in.h));
  }

  void linear() {
    ImageParam in = activation("input", l.in);
    ImageParam w = image("weights", 4);  // (k, c, x, y): PyTorch's flatten order c, y, x
    constrain_dense(w, {l.out.c, l.in.c, l.in.w, l.in.h}, &k.estimates[w.name()]);
    ImageParam b = image("bias", 1);
    constrain_dense(b, {l.out.c}, &k.estimates[b.name()]);
    RDom r(0, l.in.c, 0, l.in.w, 0, l.in.h, "r");
    k.reduction = r;
    Func acc = named("reduce");
    acc(c, n) = b(c);
    acc(c, n) += w(c, r.x, r.y, r.z) * in(r.x, r.y, r.z, n);
    Func out = named("output");
    Expr v = acc(c, n);
    if (l.relu) v = max(v, 0.0f);
    out(c, n) = v;  // logits (k, n): row-major N x K
    out.output_buffer().dim(0).set_bounds(0, l.out.c).set_stride(1);
    out.output_buffer().dim(1).set_min(0).set_stride(l.out.c);
    k.output_estimate = {l.out.c, 1};
    k.output = out;
  }
};

}  // namespace

Func KernelPipeline::stage(const std::string& name) const {
  auto it = stages.find(name);
  return it == stages.end() ? Func() : it->second;
}

bool flat_pixels(const Layer& l) {
  return l.kind == LayerKind::conv && l.groups == 1;
}

bool conv_weights_blocked(const Layer& l) {
  return l.kind == LayerKind::conv && l.groups == 1 && l.out.c % kWeightBlock == 0;
}

bool kernel_has_residual(const Layer& l) {
  return l.residual != Residual::none;
}

bool kernel_has_params(const Layer& l) {
  return l.kind == LayerKind::conv || l.kind == LayerKind::affine || l.kind == LayerKind::linear;
}

bool winograd_applies(const Layer& l) {
  return l.kind == LayerKind::conv && l.kernel == 3 && l.stride == 1 && l.padding == 1 && l.groups == 1;
}

KernelPipeline define_kernel(const Layer& layer, ConvAlgorithm algorithm) {
  Builder b{layer, {}};
  if (algorithm != ConvAlgorithm::direct && !winograd_applies(layer))
    throw Error("conv " + layer.name +
                ": the winograd algorithm takes 3x3 convolutions of stride 1, padding 1, without groups");
  switch (layer.kind) {
    case LayerKind::conv:
      if (algorithm != ConvAlgorithm::direct)
        b.conv_winograd(winograd_block(algorithm));
      else
        b.conv();
      break;
    case LayerKind::to_nhwc:
    case LayerKind::affine:
    case LayerKind::relu:
    case LayerKind::add:
    case LayerKind::pad_channels: b.elementwise(); break;
    case LayerKind::max_pool:
    case LayerKind::avg_pool: b.pool(); break;
    case LayerKind::global_avg_pool: b.global_avg_pool(); break;
    case LayerKind::linear: b.linear(); break;
  }
  return std::move(b.k);
}

}  // namespace resgen
