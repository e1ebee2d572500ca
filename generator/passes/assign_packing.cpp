// assign_packing: where each layer's packed weights and bias live in the packed blob.
//
// Requires: build_layers. Packed layouts (floats; the runtime's pack.inc writes them):
//   conv    weights [ky][kx][ci/groups][co] (co innermost), bias [co] (BN folded into both)
//   affine  scale [c], shift [c]
//   linear  weights [c][y][x][k] over the unflattened input (k innermost), bias [k]
#include "generator/lowered.hpp"

namespace resgen {

void assign_packing(Lowered& out) {
  int64_t at = 0;
  auto take = [&](int64_t n) {
    int64_t here = at;
    at += (n + 127) / 128 * 128;  // 512-byte aligned starts (OpenCL sub-buffer offsets need up to that)
    return here;
  };
  for (Layer& l : out.layers) {
    switch (l.kind) {
      case LayerKind::conv:
        l.weights_size = int64_t{l.out.c} * (l.in.c / l.groups) * l.kernel * l.kernel;
        l.bias_size = l.out.c;
        break;
      case LayerKind::affine:
        l.weights_size = l.bias_size = l.out.c;
        break;
      case LayerKind::linear:
        l.weights_size = int64_t{l.out.c} * l.in.elements();
        l.bias_size = l.out.c;
        break;
      default: continue;
    }
    l.packed_weights = take(l.weights_size);
    l.packed_bias = take(l.bias_size);
  }
  out.packed_floats = at;
}

}  // namespace resgen
