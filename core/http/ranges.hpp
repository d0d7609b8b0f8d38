#pragma once

// Byte ranges: turning Python-slice (start, end) into a Range header, parsing Content-Range,
// and checking that a 206 answers the range that was asked for. Pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "asyncfs/slice.hpp"

namespace asyncfs::http {

/// \brief What to request for a slice [start, end) with Python semantics.
struct SlicePlan {
  enum Kind {
    kWhole,     ///< the whole body: no Range header
    kEmpty,     ///< the slice is empty whatever the size: no request for data
    kFrom,      ///< bytes=first-  (to the end)
    kBounded,   ///< bytes=first-last (last inclusive)
    kSuffix,    ///< bytes=-suffix (the last `suffix` bytes)
    kNeedSize,  ///< the slice depends on the size (negative end, negative start with an end)
  } kind = kWhole;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  ///< kBounded only
  std::uint64_t suffix = 0;
};

/// Plans a slice without knowing the size (kNeedSize when it matters), or with a known size
/// (then never kNeedSize nor kSuffix).
SlicePlan plan_slice(std::optional<std::int64_t> start, std::optional<std::int64_t> end,
                     std::optional<std::uint64_t> size = std::nullopt);

/// "bytes=..." for kFrom / kBounded / kSuffix; "" for the others.
std::string range_header(const SlicePlan& plan);

/// A parsed Content-Range: "bytes F-L/T", "bytes F-L/*" or "bytes */T".
struct ContentRange {
  std::optional<std::uint64_t> first;  ///< nullopt for "*/T" (416 answers)
  std::optional<std::uint64_t> last;
  std::optional<std::uint64_t> total;  ///< nullopt for "/*"
};
/// nullopt when malformed (also last < first, or last >= total).
std::optional<ContentRange> parse_content_range(std::string_view value);

/// \brief Where the requested bytes sit in a 206 body, or why the answer is unusable.
struct RangeCheck {
  bool ok = false;
  std::uint64_t offset = 0;  ///< start of the requested bytes inside the body
  std::uint64_t length = 0;  ///< number of requested bytes available
  std::string problem;       ///< when !ok: what did not match
  bool truncated = false;    ///< when !ok: the body is shorter than its Content-Range (retry)
};
/// Validates a 206 for `plan` (kFrom, kBounded or kSuffix): the Content-Range must cover the
/// request (a larger range is sliced), and the body must be exactly its length.
RangeCheck check_partial(const SlicePlan& plan, std::optional<std::string_view> content_range,
                         std::uint64_t body_size);

}  // namespace asyncfs::http
