#pragma once
/// \file slice.hpp
/// \brief Python slice semantics for byte ranges, shared by every backend's `_cat_file`.

#include <cstdint>
#include <optional>
#include <utility>

namespace asyncfs {

/// \brief The bytes [first, last) that `data[start:end]` selects in Python, for `size` bytes.
///
/// Negative values count from the end, nullopt is the file boundary, values are clamped to
/// [0, size], and an empty selection gives first == last.
std::pair<std::uint64_t, std::uint64_t> slice_bounds(std::uint64_t size,
                                                     std::optional<std::int64_t> start,
                                                     std::optional<std::int64_t> end);

}  // namespace asyncfs
