#include "core/http/h1/url.hpp"

namespace asyncfs::http::h1 {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

/// True when a path segment is "." or ".." (curl would normalize it away).
bool has_dot_segment(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view seg = path.substr(start, end - start);
    if (seg == "." || seg == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::optional<PlainUrl> parse_plain_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = url[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  const std::size_t auth_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);

  PlainUrl out;
  const std::size_t colon = authority.find(':');
  const std::string_view host = authority.substr(0, colon);
  if (host.empty() || host.size() > 253) return std::nullopt;
  for (char c : host) {
    if (!is_host_char(c)) return std::nullopt;  // '@' (credentials), '[' (IPv6), '%', UTF-8...
  }
  if (colon != std::string_view::npos) {
    const std::string_view digits = authority.substr(colon + 1);
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    std::uint32_t port = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(port);
  }

  if (const std::size_t hash = tail.find('#'); hash != std::string_view::npos) {
    tail = tail.substr(0, hash);
  }
  for (char c : tail) {
    // Printable ASCII only: curl escapes or rejects the rest, let it decide.
    if (c <= 0x20 || c >= 0x7f) return std::nullopt;
  }
  const std::size_t query = tail.find('?');
  if (has_dot_segment(tail.substr(0, query))) return std::nullopt;

  out.host.assign(host);
  out.target.reserve(tail.size() + 1);
  if (tail.empty() || tail.front() == '?') out.target.push_back('/');
  out.target.append(tail);
  out.host_header = out.host;
  if (out.port != 80) {
    out.host_header.push_back(':');
    out.host_header.append(std::to_string(out.port));
  }
  out.pool_key = out.host + ':' + std::to_string(out.port);
  return out;
}

}  // namespace asyncfs::http::h1
