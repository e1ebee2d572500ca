// Schedules for lowered kernels, kept apart from the algorithm (generator/kernel_algorithm.cpp).
//
// Precedence (when a schedule is asked for by name): a tuned database entry, then an
// autoscheduler, then the manual schedule.
#pragma once

#include <map>
#include <string>

#include "Halide.h"
#include "generator/kernel.hpp"

namespace resgen {

// The manual CPU schedule's free parameters for one convolution (schedules/cpu_manual.cpp; their
// heuristics in cpu_knobs.cpp).
// Zero means "the heuristic's choice"; default_conv_knobs resolves every field.
struct ConvKnobs {
  int channel_vectors = 0;  // output channels per register tile, in vectors of the target
  int tile = 0;             // pixels per register tile (along the flattened pixels, or a row)
  int rows = 0;             // output rows per parallel task
  int channel_block = 0;    // input channels per reduction block; divides in_c / groups
  int order = 0;            // the parallel tasks' order: 1 a channel tile's row blocks in turn
                            // (neighbouring tasks share weights), 2 a row block's channel tiles
                            // in turn (they share input rows)
  int padded = 0;           // where a padded convolution's zero-extended input is made: 1 per task,
                            // 2 once per layer (rows in parallel), 3 nowhere (guarded loads in
                            // the reduction); 1 for a convolution without padding
  int span = 0;             // channel tiles per task: each register tile of pixels runs over all
                            // of them while its input stays in L1 (a GEMM's row panel); span > 1
                            // divides the channel tiles
  int algorithm = 0;        // 1 direct, 2 winograd F(2x2, 3x3), 3 winograd F(4x4, 3x3)
                            // (ConvAlgorithm; where winograd_applies). For winograd, tile
                            // counts m x m output blocks,
                            // rows is output rows per task, the channel block is the matrix
                            // products' reduction block, and padded and span must be 1
  int accumulators = 0;     // where a direct convolution's accumulators live: 1 a buffer per task,
                            // reloaded for each block of input channels; 2 registers, one
                            // register tile's for its whole reduction (convolutions without
                            // groups; the channel block is then all input channels, and the
                            // tile runs along a row, at most its width); 1 for winograd
  bool operator==(const ConvKnobs&) const = default;
};

// The heuristic knobs for `layer`, every field set.
ConvKnobs default_conv_knobs(const Layer& layer, const Halide::Target& target);

// Throws resgen::Error unless `knobs` (after filling zeros with defaults) is legal for `layer`.
ConvKnobs resolve_conv_knobs(const Layer& layer, const Halide::Target& target, const ConvKnobs& knobs);

// Whether `knobs` (every field set) is legal for `layer` as it stands: resolve_conv_knobs
// accepts it and changes nothing. Tuned records and the tuner's candidates must pass this.
// order, padded, span, accumulators and algorithm may be 0 (a record that names none of them): the
// heuristic's.
bool conv_knobs_legal(const Layer& layer, const Halide::Target& target, const ConvKnobs& knobs);

// The algorithm `layer` is computed with under the manual CPU schedule with `knobs` (define_kernel's
// argument): direct for every kernel but a convolution whose knobs pick winograd, and for GPUs.
ConvAlgorithm conv_algorithm(const Layer& layer, const Halide::Target& target, const ConvKnobs& knobs = {});

// The same for a --schedule spelling (manual, auto:NAME, tuned[:DB]): autoschedulers and GPU
// schedules take the direct algorithm, tuned records the one they were measured with.
ConvAlgorithm schedule_algorithm(const std::string& schedule, const Layer& layer, const Halide::Target& target);

// The manual CPU schedule; `knobs` only affect convolutions.
void schedule_cpu_manual(const Layer& layer, const KernelPipeline& kernel, const Halide::Target& target,
                         const ConvKnobs& knobs = {});

// manual GPU schedule (schedules/gpu_manual.cpp), for targets with CUDA, OpenCL or Vulkan.
void schedule_gpu_manual(const Layer& layer, const KernelPipeline& kernel, const Halide::Target& target);

// One of Halide's autoschedulers ("Adams2019", "Mullapudi2016", "Li2018", "Anderson2021").
void schedule_auto(const std::string& autoscheduler, const KernelPipeline& kernel, Halide::Pipeline& pipeline,
                   const Halide::Target& target);

// The parameters schedule_auto passes to `autoscheduler`, and the same with given parameters
// (the tuner's bounded beam searches).
std::map<std::string, std::string> default_autoscheduler_params(const std::string& autoscheduler);
void schedule_auto_with(const std::string& autoscheduler, const std::map<std::string, std::string>& params,
                        const KernelPipeline& kernel, Halide::Pipeline& pipeline, const Halide::Target& target);

// Checks a --schedule value; throws resgen::Error with the accepted spellings.
void validate_schedule(const std::string& schedule, const Halide::Target& target);

// Whether the manual CPU schedule with `knobs` computes every output element of convolution
// `layer` exactly once (each reads its residual element, if any, just before it is stored): no
// tail of its output's splits is shifted inwards over elements already written. Then the output
// may be written over the residual (plan_arena's residual in place).
bool conv_writes_each_output_once(const Layer& layer, const Halide::Target& target, const ConvKnobs& knobs = {});

// The same for the kernel --schedule gives `layer` on `target`: the manual CPU schedule or a tuned
// record of its knobs where conv_writes_each_output_once; never an autoscheduler's or a GPU
// schedule.
bool schedule_allows_residual_in_place(const std::string& schedule, const Layer& layer, const Halide::Target& target);

// Applies --schedule to one kernel.
void apply_schedule(const std::string& schedule, const Layer& layer, const KernelPipeline& kernel,
                    Halide::Pipeline& pipeline, const Halide::Target& target);

}  // namespace resgen
