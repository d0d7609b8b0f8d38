// libFuzzer target: Content-Range parsing and the 206 check (core/http/ranges.hpp), which the
// HTTP backend and firecrest:// staged downloads use on every ranged answer.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/http/ranges.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view v(reinterpret_cast<const char*>(data), size);
  auto cr = asyncfs::http::parse_content_range(v);
  if (cr) {
    // What the parser promises: an ordered range inside the total.
    if (cr->first.has_value() != cr->last.has_value()) __builtin_trap();
    if (cr->first && *cr->last < *cr->first) __builtin_trap();
    if (cr->first && cr->total && *cr->last >= *cr->total) __builtin_trap();
  }
  // The 206 check with a plan drawn from the first bytes: never a slice outside the body.
  std::uint64_t a = 0, b = 0;
  if (size >= 16) {
    std::memcpy(&a, data, 8);
    std::memcpy(&b, data + 8, 8);
  }
  asyncfs::http::SlicePlan plan;
  plan.kind = (a & 1) ? asyncfs::http::SlicePlan::kBounded : asyncfs::http::SlicePlan::kFrom;
  plan.first = a >> 40;
  plan.last = plan.first + (b >> 44);
  const std::uint64_t body = b & 0xfffff;
  auto check = asyncfs::http::check_partial(plan, v, body);
  if (check.ok && check.offset + check.length > body) __builtin_trap();
  return 0;
}
