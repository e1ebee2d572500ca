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

// The algorithm only: no scheduling directives.
KernelPipeline define_kernel(const Layer& layer);

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
