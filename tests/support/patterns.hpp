#pragma once
// Test data shared by the HTTP tests: the same bytes fault_server.py's pattern(n) serves.

#include <cstddef>
#include <string>

namespace asyncfs::testing {

/// "abcdefghijklmnopqrstuvwxyz0123456789" repeated and cut to `n` bytes.
inline std::string pattern(std::size_t n) {
  static const std::string kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(n);
  while (out.size() < n) out += kAlphabet;
  out.resize(n);
  return out;
}

}  // namespace asyncfs::testing
