// plan_arena: places every intermediate value in one activation arena, and the values of the
// network's late phase in a second one.
//
// Requires: build_layers, assign_packing. Lifetimes run from the producing layer to the last
// reader; two values share memory only if their lifetimes are disjoint. Greedy by size, lowest
// fitting offset. Offsets are per image: with N images every value is N times larger and every
// offset is scaled by N, which keeps the placement valid for any batch size.
//
// Residual in place (`in_place`, for the layers whose kernels are safe for it):
// a convolution that adds a residual of its output's shape, read by no later layer, writes its
// output over the residual. The output's cache lines are then the ones the residual just brought
// in, not lines fetched only to be overwritten (ResNet-50's 1x1 expansions with the residual:
// 0.84 to 0.96 of the time, `kernel_lab --cold 3`). The two values are placed as one, over both
// lifetimes; ResNet's identity shortcuts chain each block's output into the next block's, so a
// stage's residual stream keeps one place.
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
// arena's floats per image. A member whose `host` (the residual it overwrites, or -1) is a member
// too shares its host's place: each chain of them is one item, live from its first producer to
// its last reader.
template <typename OffsetOf>
int64_t place(std::vector<ValueInfo>& values, const std::vector<int>& members, const std::vector<int>& host,
              OffsetOf offset_of) {
  std::vector<bool> member(values.size(), false);
  for (int v : members) member[v] = true;
  auto root = [&](int v) {
    while (host[v] >= 0 && member[host[v]]) v = host[v];
    return v;
  };
  struct Item {
    int first, last;
    int64_t floats, offset = 0;
  };
  std::vector<Item> items;
  std::vector<int> item_of(values.size(), -1);
  for (int v : members) {
    int r = root(v);
    if (item_of[r] < 0) item_of[r] = static_cast<int>(items.size()), items.push_back({values[r].first, values[r].last, 0});
    Item& it = items[item_of[r]];
    it.first = std::min(it.first, values[v].first), it.last = std::max(it.last, values[v].last);
    it.floats = std::max(it.floats, aligned_floats(values[v]));
    item_of[v] = item_of[r];
  }
  std::vector<int> order(items.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return items[a].floats > items[b].floats; });
  std::vector<int> placed;
  int64_t arena = 0;
  for (int i : order) {
    Item& v = items[i];
    // Candidate offsets: 0 and the end of every placed item that is live at the same time.
    std::vector<int64_t> candidates{0};
    std::vector<int> live;
    for (int p : placed)
      if (items[p].first <= v.last && v.first <= items[p].last) {
        live.push_back(p);
        candidates.push_back(items[p].offset + items[p].floats);
      }
    std::sort(candidates.begin(), candidates.end());
    for (int64_t at : candidates) {
      bool clash = std::any_of(live.begin(), live.end(), [&](int p) {
        return at < items[p].offset + items[p].floats && items[p].offset < at + v.floats;
      });
      if (!clash) {
        v.offset = at;
        break;
      }
    }
    arena = std::max(arena, v.offset + v.floats);
    placed.push_back(i);
  }
  for (int v : members) offset_of(values[v]) = items[item_of[v]].offset;
  return arena;
}

// For each value, the residual it is written over (residual in place), or -1.
std::vector<int> residual_hosts(const Lowered& out, const std::function<bool(const Layer&)>& in_place) {
  std::vector<int> host(out.values.size(), -1);
  for (std::size_t i = 0; i < out.layers.size(); ++i) {
    const Layer& l = out.layers[i];
    if (l.kind != LayerKind::conv || l.residual != Residual::same || l.res_value < 0 || l.res_value == l.input ||
        !in_place(l))
      continue;
    const ValueInfo &r = out.values[l.res_value], &o = out.values[l.output];
    if (r.placement == Placement::arena && o.placement == Placement::arena && r.last == static_cast<int>(i) &&
        aligned_floats(r) == aligned_floats(o))
      host[l.output] = l.res_value;
  }
  return host;
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

void plan_arena(Lowered& out, const std::function<bool(const Layer&)>& in_place) {
  auto& values = out.values;
  for (ValueInfo& v : values) v.first = v.last = -1, v.offset = 0, v.late_offset = -1;
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
  // The late phase's values: those it produces and the one it receives (written by the layer
  // before it, straight into the late arena).
  out.late_start = late_phase_start(out);
  out.late_input = -1;
  out.late_arena_floats = 0;
  std::vector<int> late;
  if (out.late_start > 0)
    for (int v : arena)
      if (values[v].last >= out.late_start) {
        late.push_back(v);
        if (values[v].first < out.late_start) out.late_input = v;
      }

  // The late phase's input is written into the late arena, never over a residual in the other.
  std::vector<int> host = in_place ? residual_hosts(out, in_place) : std::vector<int>(values.size(), -1);
  if (out.late_input >= 0) host[out.late_input] = -1;
  for (Layer& l : out.layers) l.output_in_place = host[l.output] >= 0;
  out.arena_floats = place(values, arena, host, [](ValueInfo& v) -> int64_t& { return v.offset; });
  if (out.late_start > 0) {
    out.late_arena_floats = place(values, late, host, [](ValueInfo& v) -> int64_t& { return v.late_offset; });
  }
}

}  // namespace resgen
