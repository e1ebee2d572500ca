// resgen bench's arithmetic and report: FLOPs per layer, the agreement check against
// PyTorch, medians, and the per-pipeline SVG chart (generator/cli/bench.cpp runs the runners).
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "generator/lowered.hpp"

namespace resgen::cli {

// FLOPs of one image through layer `l`: 2 per multiply-accumulate of convolutions and linear
// layers, plus one per element of the other pipelines (pooling: one per window element).
double layer_flops(const Layer& l);

struct Agreement {
  double max_diff = 0, tolerance = 0;
  int argmax_mismatches = 0;
  bool ok() const { return max_diff <= tolerance && argmax_mismatches == 0; }
};

// DESIGN.md: max|y - ref| <= 1e-3 * max(1, max|ref|), and the same argmax in every row whose
// top-2 gap in the reference exceeds twice that tolerance.
Agreement agree(const std::vector<float>& y, const std::vector<float>& ref, int rows, int classes);

double median(std::vector<double> v);

struct PipelineTime {
  std::string signature;
  std::vector<std::string> layers;
  double seconds = 0;  // per run
  double flops = 0;    // per run
};

// The layers' per-run seconds (layer_seconds, in the order of lowered.layers) summed per
// distinct kernel, with their FLOPs for `batch` images, worst first; *total: their sum.
std::vector<PipelineTime> per_pipeline(const Lowered& lowered, const std::vector<double>& layer_seconds, int batch,
                                       double* total);

// The per-pipeline table: share of `total`, ms, GFLOP/s, % of `peak`, layers and signature.
void print_per_pipeline(std::ostream& out, const std::vector<PipelineTime>& rows, double total, double peak,
                        int profiled);

// A bar chart of `rows` (worst first): share of `total` seconds, coloured by % of `peak` GFLOP/s.
void write_svg(const std::filesystem::path& path, const std::string& title, const std::vector<PipelineTime>& rows,
               double total, double peak);

}  // namespace resgen::cli
