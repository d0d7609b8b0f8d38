// libFuzzer target: the HTTP backend's URL handling — parse_url (html_links.hpp), the
// canonical escaping every name goes through and the userinfo split (url_norm.hpp). Input is
// any bytes a user or a listing may hand over as a URL.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backends/http/html_links.hpp"
#include "backends/http/url_norm.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace asyncfs::http;
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  if (auto parts = parse_url(url)) {
    check(parts->scheme == "http" || parts->scheme == "https");
    check(!parts->authority.empty());
    check(parts->path.starts_with('/'));
    for (char c : parts->authority) check(static_cast<unsigned char>(c) > 0x20 && c != '/');
  }
  // Canonical escaping is idempotent: a name spelled once stays spelled that way.
  const std::string once = canonical_escapes(url);
  check(canonical_escapes(once) == once);
  std::string without;
  if (auto userinfo = split_userinfo(url, &without)) {
    // What is left holds no credentials: no '@' before the path.
    const std::size_t host = without.find("://") + 3;
    const std::size_t end = without.find_first_of("/?#", host);
    check(
        without.substr(host, end == std::string::npos ? std::string::npos : end - host).find('@') ==
        std::string::npos);
    check(userinfo->size() < url.size());
    (void)percent_decode(*userinfo);
  }
  (void)origin_of(url);
  return 0;
}
