// Name: a constexpr string for the DSL.
//
// GCC 12's constexpr std::string mishandles short (SSO) strings on move and insert, so the
// DSL keeps its names and messages in this small vector-backed string instead.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace resgen::dsl {

class Name {
 public:
  constexpr Name() = default;
  constexpr Name(const char* s) : Name(std::string_view(s)) {}
  constexpr Name(std::string_view s) : chars_(s.begin(), s.end()) {}
  Name(const std::string& s) : chars_(s.begin(), s.end()) {}

  constexpr std::string_view view() const { return {chars_.data(), chars_.size()}; }
  std::string str() const { return std::string(view()); }
  constexpr bool empty() const { return chars_.empty(); }
  constexpr std::size_t size() const { return chars_.size(); }
  constexpr char operator[](std::size_t i) const { return chars_[i]; }

  constexpr Name& operator+=(const Name& o) {
    chars_.insert(chars_.end(), o.chars_.begin(), o.chars_.end());
    return *this;
  }
  friend constexpr Name operator+(Name a, const Name& b) { return a += b; }
  friend constexpr Name operator+(Name a, const char* b) { return a += Name(b); }
  friend constexpr Name operator+(const char* a, const Name& b) { return Name(a) += b; }
  friend constexpr bool operator==(const Name& a, const Name& b) { return a.view() == b.view(); }

 private:
  std::vector<char> chars_;
};

constexpr Name to_string(long long v) {
  if (v == 0) return "0";
  char buf[24] = {};
  int i = 23;
  bool negative = v < 0;
  unsigned long long u = negative ? 0ULL - static_cast<unsigned long long>(v) : v;
  while (u) {
    buf[--i] = static_cast<char>('0' + u % 10);
    u /= 10;
  }
  if (negative) buf[--i] = '-';
  return Name(std::string_view(buf + i, 23 - i));
}

}  // namespace resgen::dsl
