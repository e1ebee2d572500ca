// The user-facing error: a one-line message naming the file, key, block or value at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace resgen {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace resgen
