// Schedules for lowered kernels, kept apart from the algorithm (generator/kernel_algorithm.cpp).
//
// Precedence (when a schedule is asked for by name): a tuned database entry, then an
// autoscheduler, then the manual schedule.
#pragma once

#include <string>

#include "Halide.h"
#include "generator/kernel.hpp"

namespace resgen {

// manual CPU schedule (schedules/cpu_manual.cpp).
void schedule_cpu_manual(const Layer& layer, const KernelPipeline& kernel, const Halide::Target& target);

// manual GPU schedule (schedules/gpu_manual.cpp), for targets with CUDA, OpenCL or Vulkan.
void schedule_gpu_manual(const Layer& layer, const KernelPipeline& kernel, const Halide::Target& target);

// One of Halide's autoschedulers ("Adams2019", "Mullapudi2016", "Li2018", "Anderson2021").
void schedule_auto(const std::string& autoscheduler, const KernelPipeline& kernel, Halide::Pipeline& pipeline,
                   const Halide::Target& target);

// Checks a --schedule value; throws resgen::Error with the accepted spellings.
void validate_schedule(const std::string& schedule, const Halide::Target& target);

// Applies --schedule to one kernel.
void apply_schedule(const std::string& schedule, const Layer& layer, const KernelPipeline& kernel,
                    Halide::Pipeline& pipeline, const Halide::Target& target);

}  // namespace resgen
