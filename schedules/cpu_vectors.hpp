// The vector width the manual CPU schedule and its knob heuristics share.
#pragma once

#include "Halide.h"

namespace resgen {

// The widest power-of-two vector (in floats) not above `extent` and the target's natural width.
inline int vector_width(const Halide::Target& t, int extent) {
  int v = t.natural_vector_size<float>();
  while (v > 1 && v > extent) v /= 2;
  return v;
}

}  // namespace resgen
