// libFuzzer target: link extraction from HTML index pages (backends/http/html_links.hpp), the
// parser every listing of a server we do not control goes through. The first line of the
// input is the page URL, the rest the page; the first byte's low bit picks same_scheme.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backends/http/html_links.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace asyncfs::http;
  if (size < 1) return 0;
  const bool same_scheme = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t nl = in.find('\n');
  const std::string_view page = nl == std::string_view::npos ? "http://h/d/" : in.substr(0, nl);
  const std::string_view html = nl == std::string_view::npos ? in : in.substr(nl + 1);
  (void)extract_hrefs(html);
  (void)is_html_content_type(page);
  const auto base = parse_url(page);
  const auto links = child_links(html, page, same_scheme);
  // Sorted, unique, absolute, on the page's host: a listing never points elsewhere.
  if (!std::is_sorted(links.begin(), links.end())) __builtin_trap();
  if (std::adjacent_find(links.begin(), links.end()) != links.end()) __builtin_trap();
  for (const auto& l : links) {
    const auto parts = parse_url(l);
    if (!parts || !base || parts->authority != base->authority) __builtin_trap();
  }
  return 0;
}
