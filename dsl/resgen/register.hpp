// Registering a network spec with the resgen command line built around it.
//
//   constexpr resgen::dsl::Network my_net(resgen::dsl::Shape in, int classes) { ... }
//   RESGEN_NETWORK(my_net, "my network", 1, 28, 28, 10);
//
// checks the spec at its default input and class count when this file is compiled (a shape
// error stops the build; see check.hpp), and makes `my_net` known to the generator it is
// linked into (the CMake function resgen_add_network does that linking).
#pragma once

#include "resgen/check.hpp"
#include "resgen/network.hpp"

namespace resgen {

using NetworkBuilder = dsl::Network (*)(dsl::Shape input, int classes);

// Defined by the generator library; returns a dummy so it can run at static initialization.
int register_network(const char* name, const char* summary, NetworkBuilder build, dsl::Shape input,
                     int classes);

}  // namespace resgen

#define RESGEN_NETWORK(fn, summary, C, H, W, K)                   \
  RESGEN_CHECK_SPEC(fn(::resgen::dsl::Shape{C, H, W}, K));        \
  [[maybe_unused]] static const int resgen_registered_##fn =       \
      ::resgen::register_network(#fn, summary, &fn, ::resgen::dsl::Shape{C, H, W}, K)
