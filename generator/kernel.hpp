// A layer signature as a Halide pipeline: the algorithm (kernel_algorithm.cpp) and the
// schedules (schedules/), joined by stage names.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "Halide.h"
#include "generator/lowered.hpp"

namespace resgen {

// The pipeline of one kernel, before scheduling.
//
// Arguments, in the order the generated runtime passes them:
//   input, [residual], [weights, bias]  then the output buffer.
// Stages carry stable names: "output" always; "conv" (the reduction) and "padded" (the
// zero-extended input) for convolutions; "reduce" for linear layers.
struct KernelPipeline {
  Halide::Func output;
  std::vector<Halide::Argument> args;
  std::map<std::string, Halide::Func> stages;
  Halide::RDom reduction;  // of the "conv" or "reduce" stage's update, if any
  std::vector<Halide::ImageParam> params;  // keeps the ImageParams alive
  // Extents at one image, for autoscheduler estimates: per input name, and of the output.
  std::map<std::string, std::vector<int>> estimates;
  std::vector<int> output_estimate;

  Halide::Func stage(const std::string& name) const;
};

// How a convolution is computed. direct: each output pixel reduces over (ci, kx, ky).
// winograd F(m x m, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2016): each m x m block of output pixels is an (m + 2) x (m + 2) tile of the input; tiles and
// weights are transformed into (m + 2)^2 planes, the planes multiplied as matrices over the input
// channels, and the products transformed back: 2.25 (m = 2) or 4 (m = 4) times fewer
// multiplications; m = 4 rounds more (its transforms' coefficients reach 8 and 1/24). Stages
// "winograd_input" (V(ci, t, e, n), t the tile, e the plane), "winograd_weights" (U(co, ci, e)),
// "winograd_product" (M(co, t, e, n), reduced over ci) and "output"; each transform is two
// passes, rows then columns, the first ("winograd_input_rows", "winograd_weights_rows",
// "winograd_output_rows") inlined unless scheduled. The zero-extended input is inlined.
enum class ConvAlgorithm { direct = 1, winograd = 2, winograd4 = 3 };

// A 3x3 convolution of stride 1, padding 1, without groups.
bool winograd_applies(const Layer& layer);

// The algorithm only: no scheduling directives. winograd only where winograd_applies.
KernelPipeline define_kernel(const Layer& layer, ConvAlgorithm algorithm = ConvAlgorithm::direct);

// The output block's side m of a winograd algorithm: 2 or 4.
inline int winograd_block(ConvAlgorithm a) { return a == ConvAlgorithm::winograd4 ? 4 : 2; }

// Tiles per row (and rows of tiles) of a winograd convolution: the output's m x m blocks.
inline int winograd_tiles(int extent, int m) { return (extent + m - 1) / m; }

// A convolution without groups: its "conv" stage is (c, p, n) over flattened output pixels
// p = x + W * y (a matrix product tiled across row ends), instead of (c, x, y, n).
bool flat_pixels(const Layer& layer);

// A convolution without groups whose output channels are a multiple of kWeightBlock takes its
// weights blocked: (t, ci, kx, ky, co / kWeightBlock) with co = block * kWeightBlock + t, so a
// register tile's weights for consecutive input channels are consecutive in memory (no cache-set
// aliasing between rows of a wide layer, one stream per tile). Others take them dense
// (co, ci, kx, ky), co innermost. generator/runtime/pack.inc packs by the same rule.
constexpr int kWeightBlock = 16;
bool conv_weights_blocked(const Layer& layer);

// Argument counts of a layer's kernel (for the generated runtime's argv).
bool kernel_has_residual(const Layer& layer);
bool kernel_has_params(const Layer& layer);

}  // namespace resgen
