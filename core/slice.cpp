#include "asyncfs/slice.hpp"

#include <algorithm>

namespace asyncfs {

std::pair<std::uint64_t, std::uint64_t> slice_bounds(std::uint64_t size,
                                                     std::optional<std::int64_t> start,
                                                     std::optional<std::int64_t> end) {
  const auto n = static_cast<std::int64_t>(size);
  auto clamp = [n](std::int64_t v) {
    if (v < 0) v += n;
    return std::clamp<std::int64_t>(v, 0, n);
  };
  const std::int64_t s = start ? clamp(*start) : 0;
  const std::int64_t e = std::max(s, end ? clamp(*end) : n);
  return {static_cast<std::uint64_t>(s), static_cast<std::uint64_t>(e)};
}

}  // namespace asyncfs
