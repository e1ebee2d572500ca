// plan_arena: places every intermediate value in one activation arena.
//
// Requires: build_layers. Lifetimes run from the producing layer to the last reader; two values
// share memory only if their lifetimes are disjoint. Greedy by size, lowest fitting offset.
// Offsets are per image: with N images every value is N times larger and every offset is
// scaled by N, which keeps the placement valid for any batch size.
#include <algorithm>

#include "generator/lowered.hpp"

namespace resgen {

void plan_arena(Lowered& out) {
  auto& values = out.values;
  for (std::size_t i = 0; i < out.layers.size(); ++i) {
    const Layer& l = out.layers[i];
    int li = static_cast<int>(i);
    values[l.output].first = li;
    for (int v : {l.input, l.res_value})
      if (v >= 0) values[v].last = std::max(values[v].last, li);
  }
  std::vector<int> order;
  for (std::size_t v = 0; v < values.size(); ++v) {
    ValueInfo& info = values[v];
    if (info.last < info.first) info.last = info.first;  // never read: still written
    if (info.placement == Placement::arena) order.push_back(static_cast<int>(v));
  }
  // 512-byte aligned offsets: OpenCL devices need up to that for a sub-buffer (a GPU view).
  auto floats = [&](int v) -> int64_t { return (values[v].shape.elements() + 127) / 128 * 128; };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return floats(a) > floats(b); });

  std::vector<int> placed;
  out.arena_floats = 0;
  for (int v : order) {
    // Candidate offsets: 0 and the end of every placed value that is live at the same time.
    std::vector<int64_t> candidates{0};
    std::vector<int> live;
    for (int p : placed)
      if (values[p].first <= values[v].last && values[v].first <= values[p].last) {
        live.push_back(p);
        candidates.push_back(values[p].offset + floats(p));
      }
    std::sort(candidates.begin(), candidates.end());
    for (int64_t at : candidates) {
      bool clash = std::any_of(live.begin(), live.end(), [&](int p) {
        return at < values[p].offset + floats(p) && values[p].offset < at + floats(v);
      });
      if (!clash) {
        values[v].offset = at;
        break;
      }
    }
    out.arena_floats = std::max<int64_t>(out.arena_floats, values[v].offset + floats(v));
    placed.push_back(v);
  }
}

}  // namespace resgen
