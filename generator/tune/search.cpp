// The convolution schedule space the tuner searches, and its baselines (tuner.hpp).
//
// A point is the manual schedule's knobs (schedules/cpu_knobs.cpp): output channels per
// register tile (in vectors), pixels per register tile, output rows per parallel task (the
// parallel split), input channels per reduction block (the L1 blocking of the weights), the
// order of the parallel tasks (loop order), where a padded input is made (per task, per
// layer, or inlined into the reduction), channel tiles per task (span), where the accumulators
// live (a task buffer, or registers for the whole reduction), and the algorithm:
// direct or, for 3x3 convolutions of stride 1, winograd F(2x2, 3x3) or F(4x4, 3x3)
// (generator/kernel.hpp), whose own knobs are the tile, rows, channel block, channel vectors and
// order.
#include <algorithm>

#include "generator/tune/tuner.hpp"

namespace resgen::tune {

KnobSpace::KnobSpace(const Layer& layer, const Halide::Target& target) : layer_(layer), target_(target) {
  if (layer.kind != LayerKind::conv) return;
  int vw = target.natural_vector_size<float>();
  while (vw > 1 && vw > layer.out.c) vw /= 2;
  for (int cv = 1; cv <= 4; ++cv)
    if (cv * vw <= layer.out.c) cv_.push_back(cv);
  int cig = layer.in.c / layer.groups;
  for (int b = 1; b <= cig; ++b)
    if (cig % b == 0) blocks_.push_back(b);
  max_rows_ = layer.out.h;
  places_ = layer.padding > 0 ? 3 : 1;
  winograd_ = winograd_applies(layer);
  registers_ = layer.groups == 1;
}

// Winograd has no padded copy, one channel tile per task and a task buffer; accumulators in
// registers take all input channels in one block and tiles along a row.
void KnobSpace::fit_algorithm(ConvKnobs& k) const {
  if (k.algorithm >= 2) k.padded = 1, k.span = 1, k.accumulators = 1;
  if (k.accumulators == 2) k.channel_block = blocks_.back(), k.tile = std::min(k.tile, layer_.out.w);
}

// Accumulators (cv x tile vectors) plus a weight vector per cv and a broadcast must fit the
// vector registers (16 with AVX2, 32 with AVX-512); past that the tile spills.
int KnobSpace::max_tile(int cv) const {
  int regs = target_.has_feature(Halide::Target::AVX512) ? 32 : 16;
  return std::clamp((regs - 1 - cv) / cv, 1, 32);
}

bool KnobSpace::legal(const TunedSchedule& s) const { return conv_knobs_legal(layer_, target_, s.knobs); }

TunedSchedule KnobSpace::random(std::mt19937& rng) const {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  TunedSchedule s;
  s.kind = TunedSchedule::Kind::knobs;
  s.knobs.channel_vectors = cv_[pick(0, int(cv_.size()) - 1)];
  s.knobs.tile = pick(1, max_tile(s.knobs.channel_vectors));
  // Rows per task: small counts matter most (the pool needs tasks), so log-uniform.
  double lr = std::uniform_real_distribution<double>(0, std::log2(double(max_rows_) + 1))(rng);
  s.knobs.rows = std::clamp(int(std::exp2(lr)), 1, max_rows_);
  s.knobs.channel_block = blocks_[pick(0, int(blocks_.size()) - 1)];
  s.knobs.order = pick(1, 2);
  s.knobs.padded = pick(1, places_);
  s.knobs.span = 1 << pick(0, 2);
  s.knobs.algorithm = winograd_ ? pick(1, 3) : 1;
  s.knobs.accumulators = registers_ ? pick(1, 2) : 1;
  fit_algorithm(s.knobs);
  return s;
}

TunedSchedule KnobSpace::mutate(const TunedSchedule& from, std::mt19937& rng) const {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  TunedSchedule s = from;
  s.kind = TunedSchedule::Kind::knobs;
  ConvKnobs& k = s.knobs;
  int moves = pick(1, 2);
  for (int m = 0; m < moves; ++m) {
    switch (pick(0, winograd_ ? 8 : 7)) {
      case 0: k.channel_vectors = cv_[pick(0, int(cv_.size()) - 1)]; break;
      case 1: k.tile += pick(0, 1) ? pick(1, 2) : -pick(1, 2); break;
      case 2: {
        int options[4] = {k.rows - 1, k.rows + 1, k.rows * 2, k.rows / 2};
        k.rows = options[pick(0, 3)];
        break;
      }
      case 4: k.order = 3 - k.order; break;
      case 5: k.padded = pick(1, places_); break;
      case 6: k.span = k.span > 1 && pick(0, 1) ? k.span / 2 : std::min(8, k.span * 2); break;
      case 7: k.accumulators = registers_ ? 3 - k.accumulators : 1; break;
      case 8: k.algorithm = 1 + (k.algorithm + pick(0, 1)) % 3; break;  // either other one
      default: {
        k.accumulators = 1;  // blocks of input channels need the task buffer
        auto it = std::find(blocks_.begin(), blocks_.end(), k.channel_block);
        int i = it == blocks_.end() ? int(blocks_.size()) - 1 : int(it - blocks_.begin());
        i = std::clamp(i + (pick(0, 1) ? 1 : -1), 0, int(blocks_.size()) - 1);
        k.channel_block = blocks_[i];
      }
    }
  }
  k.tile = std::clamp(k.tile, 1, max_tile(k.channel_vectors));
  k.rows = std::clamp(k.rows, 1, max_rows_);
  fit_algorithm(k);
  return s;
}

std::vector<TunedSchedule> baselines(const Halide::Target& target, int beam) {
  std::vector<TunedSchedule> out(1);  // manual
  std::vector<std::string> names{"Adams2019", "Mullapudi2016", "Li2018"};
  if (target.has_gpu_feature()) names = {"Anderson2021"};
  for (const std::string& n : names) {
    TunedSchedule s;
    s.kind = TunedSchedule::Kind::autoscheduler;
    s.autoscheduler = n;
    s.params = autoscheduler_params(n);
    out.push_back(s);
    if (beam > 1 && (n == "Adams2019" || n == "Anderson2021")) {
      // A bounded beam search with the cost model, beside the greedy default.
      s.params.clear();
      std::map<std::string, std::string> p = default_autoscheduler_params(n);
      p["beam_size"] = std::to_string(beam);
      for (const auto& [k, v] : p) s.params += (s.params.empty() ? "" : ",") + k + "=" + v;
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace resgen::tune
