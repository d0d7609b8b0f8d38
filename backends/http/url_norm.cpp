#include "backends/http/url_norm.hpp"

#include <curl/curl.h>

#include <algorithm>

#include "asyncfs/errors.hpp"
#include "backends/http/html_links.hpp"

namespace asyncfs::http {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

bool literal_in_path(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()+,;=:@").find(static_cast<char>(c)) != std::string_view::npos;
}

std::optional<std::string> split_userinfo(std::string_view url, std::string* without) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::size_t host_start = scheme_end + 3;
  const std::size_t auth_end = std::min(url.find_first_of("/?#", host_start), url.size());
  const std::size_t at = url.substr(0, auth_end).rfind('@');
  if (at == std::string_view::npos || at < host_start) return std::nullopt;
  *without = std::string(url.substr(0, host_start)) + std::string(url.substr(at + 1));
  return std::string(url.substr(host_start, at - host_start));
}

std::string percent_decode(std::string_view s) {
  int n = 0;
  char* raw = curl_easy_unescape(nullptr, s.data(), static_cast<int>(s.size()), &n);
  if (!raw) throw OutOfMemory("URL credentials", "cannot decode");
  std::string out(raw, static_cast<std::size_t>(n));
  curl_free(raw);
  return out;
}

std::string origin_of(std::string_view url) {
  auto parts = parse_url(url);
  if (!parts) return {};
  return parts->scheme + "://" + parts->authority;
}

std::string canonical_escapes(std::string_view url) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const std::size_t path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos) return std::string(url);
  std::size_t path_end = url.find_first_of("?#", path_start);
  if (path_end == std::string_view::npos) path_end = url.size();
  std::string out(url.substr(0, path_start));
  for (std::size_t i = path_start; i < path_end; ++i) {
    const auto c = static_cast<unsigned char>(url[i]);
    if (c == '%' && i + 2 < path_end && is_hex(url[i + 1]) && is_hex(url[i + 2])) {
      const auto v = static_cast<unsigned char>(hex_value(url[i + 1]) * 16 + hex_value(url[i + 2]));
      if (literal_in_path(v)) {
        out += static_cast<char>(v);
      } else {
        out += '%';
        out += kHex[v >> 4];
        out += kHex[v & 15];
      }
      i += 2;
    } else if (c == '%' || c >= 0x80) {
      // A '%' that starts no escape is a literal percent sign: spelled "%25", or a second
      // pass would read it with the next two characters as an escape ("%7%37" -> "%77").
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += url.substr(path_end);
  return out;
}

}  // namespace asyncfs::http
