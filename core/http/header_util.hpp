#pragma once
// Small ASCII helpers for header names and values, shared by both HTTP transports.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asyncfs::http {

inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

/// `a` equals the lower-case `lower_b`, ignoring ASCII case.
/// True when `s` holds a CR or an LF (which would split a header). Two vectorised memchr
/// scans: find_first_of("\r\n") calls memchr once per character, which for a long bearer
/// token cost more than the rest of building a request.
inline bool has_line_break(std::string_view s) {
  return std::memchr(s.data(), '\r', s.size()) != nullptr ||
         std::memchr(s.data(), '\n', s.size()) != nullptr;
}

inline bool iequals(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

/// Without surrounding spaces, tabs and line ends.
inline std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

/// \brief A Content-Length field value: 1*DIGIT, or a list of equal ones ("5, 5", which
/// RFC 9110 §8.6 lets a recipient accept). nullopt when malformed ("+5", "5 5", "", "0x5",
/// ",5"), conflicting ("5, 6"), empty or above 2^62. Both transports judge the field with this.
inline std::optional<std::uint64_t> parse_content_length(std::string_view value) {
  constexpr std::uint64_t kMax = 1ull << 62;
  std::optional<std::uint64_t> out;
  for (;;) {
    const std::size_t comma = value.find(',');
    const std::string_view token = trim(value.substr(0, comma));
    // No empty elements (",5", "5,,5"): RFC 9110 §8.6 allows only repeated equal values, and
    // libcurl refuses a value that does not start with a digit, so both transports do.
    if (token.empty()) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : token) {
      if (c < '0' || c > '9') return std::nullopt;
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (v > (kMax - digit) / 10) return std::nullopt;  // checked before it could wrap
      v = v * 10 + digit;
    }
    if (out && *out != v) return std::nullopt;
    out = v;
    if (comma == std::string_view::npos) return out;
    value.remove_prefix(comma + 1);
  }
}

/// Whether `headers` has a field named `lower_name` (any case).
inline bool has_header(const std::vector<std::pair<std::string, std::string>>& headers,
                       std::string_view lower_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return iequals(h.first, lower_name); });
}

}  // namespace asyncfs::http
