// The runtime sources compiled into every generated library, embedded in the generator at
// build time (cmake/embed_sources.cmake), so resgen needs no source tree at run time.
#pragma once

#include <string_view>
#include <vector>

namespace resgen {

struct EmbeddedSource {
  std::string_view name;  // file name in the intermediates folder
  std::string_view text;
};

const std::vector<EmbeddedSource>& embedded_sources();

}  // namespace resgen
