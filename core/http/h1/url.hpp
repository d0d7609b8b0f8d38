#pragma once
// The URLs the native HTTP/1.1 client takes: plain http:// with a host name or IPv4 address, an
// optional port and a path and query of printable ASCII. Anything else (https, credentials in
// the URL, IPv6 literals, international names, spaces, dot segments to normalize...) is left to
// libcurl, so edge cases keep curl's exact behaviour and the fast path stays small.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace asyncfs::http::h1 {

struct PlainUrl {
  std::string host;         ///< as written (host name or dotted IPv4)
  std::uint16_t port = 80;  ///< 80 when absent
  std::string target;       ///< request target: path and query ("/" when empty), no fragment
  std::string host_header;  ///< value of the Host header (":port" only when not 80)
  std::string pool_key;     ///< "host:port", the connection pool's key
};

/// The parts of `url`, or nullopt when the fast path does not take it (see above).
std::optional<PlainUrl> parse_plain_url(std::string_view url);

}  // namespace asyncfs::http::h1
