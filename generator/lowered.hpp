// The lowered program: what the generator emits code for.
//
// lower() turns a dsl::Network into a list of Layers, each one Halide pipeline call, with
// batch-norm folded into convolutions and ReLU / residual adds fused into their producers.
// Values are activations stored NHWC (channels innermost; Halide dims c, x, y, n), except the
// network input, which the caller hands over as NCHW.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "resgen/network.hpp"

namespace resgen {

using dsl::Shape;

enum class LayerKind {
  to_nhwc,         // NCHW network input -> NHWC
  conv,            // conv2d (+ folded BN, + bias) (+ residual) (+ ReLU)
  affine,          // a batch-norm not folded: x * scale[c] + shift[c] (+ ReLU)
  relu,            // a ReLU not fused
  add,             // a residual add not fused (+ ReLU)
  pad_channels,    // option A shortcut, not fused
  max_pool,
  avg_pool,
  global_avg_pool,
  linear,          // fully connected; reads the NHWC input in PyTorch's flatten order
};

const char* layer_kind_name(LayerKind k);

// How a residual is added in a conv epilogue.
enum class Residual {
  none,
  same,           // + r(c, x, y)
  subsample_pad,  // + r(c - pad_before, x * stride, y * stride), zero outside r's channels
};

// A tensor the weights file must hold.
struct Param {
  std::string key;               // e.g. "layer1.0.conv1.weight"
  std::vector<int64_t> shape;    // PyTorch shape
};

struct Layer {
  LayerKind kind = LayerKind::conv;
  std::string name;    // stable stage name, e.g. "layer3.1.conv2"
  Shape in, out;       // per-image shapes (for linear: `in` is the unflattened input)
  int kernel = 1, stride = 1, padding = 0, groups = 1;
  bool relu = false;
  Residual residual = Residual::none;
  Shape res;           // residual operand shape
  int res_stride = 1, res_pad_before = 0;
  int input = -1, res_value = -1, output = -1;  // value ids
  bool output_in_place = false;  // the output is written over the residual (plan_arena)

  // Parameter indices into Lowered::params, -1 when absent. A conv's bn_* fold into it;
  // an affine layer's scale and shift come from its bn_*.
  int weight = -1, bias = -1, bn_gamma = -1, bn_beta = -1, bn_mean = -1, bn_var = -1;
  int64_t packed_weights = 0, packed_bias = 0;  // packed float offsets
  int64_t weights_size = 0, bias_size = 0;      // packed float counts

  int kernel_id = -1;  // index into Lowered::kernels
};

enum class Placement { input, output, arena };

struct ValueInfo {
  Shape shape;
  Placement placement = Placement::arena;
  int64_t offset = 0;   // per-image float offset into the arena (scaled by N at run time)
  int64_t late_offset = -1;  // per-image float offset into the late arena; -1 outside the late phase
  int first = -1, last = -1;  // layer indices of producer and last consumer
};

// One distinct pipeline: every layer with the same signature shares it.
struct Kernel {
  std::string signature;   // kind, shapes and attributes; equal signature => same code
  int representative = -1; // a layer with this signature
};

struct Lowered {
  std::string network;
  Shape input;
  int classes = 0;
  std::vector<Param> params;
  std::vector<Layer> layers;
  std::vector<ValueInfo> values;
  std::vector<Kernel> kernels;
  int64_t arena_floats = 0;    // per image
  int64_t packed_floats = 0;   // all packed weights
  // The late phase (plan_arena): layers [late_start, end) may run on more images at once than
  // the layers before, over their own arena of late_arena_floats per image. 0: none.
  int late_start = 0, late_input = -1;  // late_input: the one value crossing into it
  int64_t late_arena_floats = 0;

};

// Lowers a checked network (throws dsl::SpecError for what the lowering cannot take).
Lowered lower(const dsl::Network& net);

// The lowering steps, in the order lower() runs them (each in its own file).
void collect_params(const dsl::Network& net, Lowered& out);
void build_layers(const dsl::Network& net, Lowered& out);   // fold BN, fuse ReLU / residual
void assign_packing(Lowered& out);
void dedup_kernels(Lowered& out);
// With `in_place`, a convolution whose layer it accepts may write its output over its residual
// (Layer::output_in_place); lower() plans without (generator/emit.hpp plan_for replans).
void plan_arena(Lowered& out, const std::function<bool(const Layer&)>& in_place = {});

std::string dump(const Lowered& l);

// A layer's kernel signature: everything its pipeline's code depends on (kind, shapes, window,
// fusion), nothing else. Equal signatures share a kernel and a tuned schedule.
std::string kernel_signature(const Layer& l);

}  // namespace resgen
