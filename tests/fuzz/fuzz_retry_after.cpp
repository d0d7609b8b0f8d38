// libFuzzer target: Retry-After values (delta-seconds or any of the three HTTP-date forms).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/http/retry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view v(reinterpret_cast<const char*>(data), size);
  auto d = asyncfs::http::parse_retry_after(v, std::chrono::system_clock::now());
  if (d && d->count() < 0) __builtin_trap();  // a wait is never negative
  return 0;
}
