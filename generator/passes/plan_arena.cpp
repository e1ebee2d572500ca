// plan_arena: places every intermediate value in one activation arena, and the values of the
// network's late phase in a second one.
//
// Requires: build_layers, assign_packing. Lifetimes run from the producing layer to the last
// reader; two values share memory only if their lifetimes are disjoint. Greedy by size, lowest
// fitting offset. Offsets are per image: with N images every value is N times larger and every
// offset is scaled by N, which keeps the placement valid for any batch size.
//
// The late phase. A CPU runs a batch in chunks of images whose arena fits a share of the cache
// (runtime/model.inc), one image at a time for ImageNet-sized networks; each chunk then reads
// every layer's weights again. Where a network's layers come to hold more weights than
// activations (ResNet-50 from its 14x14 stage on), running more images at once saves more
// weight traffic than it costs in activations. The late phase starts at the earliest layer
// boundary that exactly one value crosses and after which every convolution and linear layer
// has at least as many weights as input and output floats per image, if the layers after it
// hold at least half the network's weights and more than the arena's cache share (8 MiB; else
// they stay in the cache between chunks, and it saves little); its values get their own
// plan, so its chunks can be larger (ResNet-50 at batch 8 on 2 Zen 3 cores, 4 images at a time
// from layer3.1.conv1: 0.96 of the time with one image at a time throughout, in turns; README
// "Deep networks").
#include <algorithm>

#include "generator/lowered.hpp"
#include "generator/runtime/rg_runtime.h"

namespace resgen {
namespace {

// 512-byte aligned sizes: OpenCL devices need up to that for a sub-buffer (a GPU view).
int64_t aligned_floats(const ValueInfo& v) { return (v.shape.elements() + 127) / 128 * 128; }

// Places `members` (value ids) by their lifetimes, writing offsets with `offset_of`; returns the
// arena's floats per image.
template <typename OffsetOf>
int64_t place(std::vector<ValueInfo>& values, std::vector<int> members, OffsetOf offset_of) {
  std::stable_sort(members.begin(), members.end(),
                   [&](int a, int b) { return aligned_floats(values[a]) > aligned_floats(values[b]); });
  std::vector<int> placed;
  int64_t arena = 0;
  for (int v : members) {
    // Candidate offsets: 0 and the end of every placed value that is live at the same time.
    std::vector<int64_t> candidates{0};
    std::vector<int> live;
    for (int p : placed)
      if (values[p].first <= values[v].last && values[v].first <= values[p].last) {
        live.push_back(p);
        candidates.push_back(offset_of(values[p]) + aligned_floats(values[p]));
      }
    std::sort(candidates.begin(), candidates.end());
    for (int64_t at : candidates) {
      bool clash = std::any_of(live.begin(), live.end(), [&](int p) {
        return at < offset_of(values[p]) + aligned_floats(values[p]) && offset_of(values[p]) < at + aligned_floats(values[v]);
      });
      if (!clash) {
        offset_of(values[v]) = at;
        break;
      }
    }
    arena = std::max(arena, offset_of(values[v]) + aligned_floats(values[v]));
    placed.push_back(v);
  }
  return arena;
}

// Whether a layer's weights, if it has any to speak of, are at least its per-image activations.
bool weights_dominate(const Layer& l) {
  if (l.kind != LayerKind::conv && l.kind != LayerKind::linear) return true;  // no weights to reuse
  return l.weights_size >= l.in.elements() + l.out.elements();
}

// The first layer of the late phase, or 0 when the network has none.
int late_phase_start(const Lowered& out) {
  int layers = static_cast<int>(out.layers.size());
  int after = 0;  // the phase starts after every layer whose activations outweigh its weights
  for (int i = 0; i < layers; ++i)
    if (!weights_dominate(out.layers[i])) after = i + 1;
  for (int s = std::max(after, 1); s < layers; ++s) {
    // Values crossing the boundary before layer s: produced before it, read at or after it.
    int crossing = 0;
    bool from_outside = false;
    for (const ValueInfo& v : out.values)
      if (v.first < s && v.last >= s) {
        ++crossing;
        from_outside |= v.placement != Placement::arena;
      }
    if (crossing != 1 || from_outside) continue;
    // Worth it only if the phase holds most of the network's weights, and more than the cache
    // share the arena may take: fewer stay in the cache from one chunk to the next anyway.
    int64_t late = 0, total = 0;
    for (int i = 0; i < layers; ++i) {
      total += out.layers[i].weights_size;
      if (i >= s) late += out.layers[i].weights_size;
    }
    return 2 * late >= total && 4 * late > RG_CHUNK_ARENA_BYTES ? s : 0;
  }
  return 0;
}

}  // namespace

void plan_arena(Lowered& out) {
  auto& values = out.values;
  for (std::size_t i = 0; i < out.layers.size(); ++i) {
    const Layer& l = out.layers[i];
    int li = static_cast<int>(i);
    values[l.output].first = li;
    for (int v : {l.input, l.res_value})
      if (v >= 0) values[v].last = std::max(values[v].last, li);
  }
  std::vector<int> arena;
  for (std::size_t v = 0; v < values.size(); ++v) {
    ValueInfo& info = values[v];
    if (info.last < info.first) info.last = info.first;  // never read: still written
    if (info.placement == Placement::arena) arena.push_back(static_cast<int>(v));
  }
  out.arena_floats = place(values, arena, [](ValueInfo& v) -> int64_t& { return v.offset; });

  // The late phase's values: those it produces and the one it receives (written by the layer
  // before it, straight into the late arena).
  out.late_start = late_phase_start(out);
  out.late_input = -1;
  out.late_arena_floats = 0;
  if (out.late_start > 0) {
    std::vector<int> late;
    for (int v : arena)
      if (values[v].last >= out.late_start) {
        late.push_back(v);
        if (values[v].first < out.late_start) out.late_input = v;
      }
    out.late_arena_floats = place(values, late, [](ValueInfo& v) -> int64_t& { return v.late_offset; });
  }
}

}  // namespace resgen
