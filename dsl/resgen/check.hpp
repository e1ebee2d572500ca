// Compile-time checking of a network spec.
//
//   constexpr resgen::dsl::Network my_net() { ... }
//   RESGEN_CHECK_SPEC(my_net());
//
// evaluates the spec in the C++ compiler. A shape error stops the compilation; the compiler's
// "In instantiation of 'struct resgen::dsl::SpecCheck<resgen::dsl::Verdict{false, "..."}>'"
// line carries the message, which names the network, the block, the op and the shapes.
#pragma once

#include "resgen/network.hpp"

namespace resgen::dsl {

struct Verdict {
  bool ok = true;
  char message[400] = {};
};

constexpr Verdict verdict_of(const Network& net) {
  Verdict v;
  if (!net.ok()) {
    v.ok = false;
    const Name& e = net.error();
    for (std::size_t i = 0; i < e.size() && i + 1 < sizeof v.message; ++i) v.message[i] = e[i];
  }
  return v;
}

// Builds the network inside the constant evaluation and frees it there (clang insists).
template <class Build>
constexpr Verdict verdict_from(Build build) {
  Network net = build();
  return verdict_of(net);
}

template <Verdict V>
struct SpecCheck {
  static_assert(V.ok, "resgen: the network spec has a shape error; the message is in the "
                      "'SpecCheck<resgen::dsl::Verdict{false, \"...\"}>' line above");
  static constexpr bool ok = V.ok;
};

}  // namespace resgen::dsl

#define RESGEN_CHECK_SPEC(...) \
  static_assert(::resgen::dsl::SpecCheck<::resgen::dsl::verdict_from([] { return __VA_ARGS__; })>::ok)
