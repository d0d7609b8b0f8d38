#pragma once
// "did you mean ...?" for mistyped command names.

#include <string>
#include <string_view>
#include <vector>

namespace asyncfs::cli {

/// \brief The candidate nearest to `typed` (edit distance, at most 2 or a third of its length),
/// or "" when none is close enough to be a plausible typo.
std::string nearest(std::string_view typed, const std::vector<std::string>& candidates);

}  // namespace asyncfs::cli
