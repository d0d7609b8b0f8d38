#pragma once
/// \file path.hpp
/// \brief Abstract "/"-separated path helpers and the glob matcher shared by every backend.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asyncfs::path {

/// Everything before the last "/" ("" for a bare name, "/" stays "/").
std::string parent(std::string_view p);
/// The last component.
std::string_view basename(std::string_view p);
/// Joins with exactly one "/" between the parts.
std::string join(std::string_view a, std::string_view b);
/// Strips all trailing "/" but keeps a lone "/".
std::string_view strip_trailing_slash(std::string_view p);
bool has_trailing_slash(std::string_view p) noexcept;

/// True when `p` contains a glob character (`*`, `?` or `[`). Where `?` is not a wildcard
/// (Capabilities::question_mark_is_wildcard false: it starts an HTTP query), only `*` and `[`.
bool has_magic(std::string_view p, bool question_mark_is_wildcard = true) noexcept;
/// `p` as a glob pattern that matches exactly `p`: `*`, `?` and `[` each in brackets.
std::string escape_glob(std::string_view p);

/// Valid UTF-8 (names that are not are rejected with InvalidArgument at the API boundary).
bool is_valid_utf8(std::string_view s) noexcept;
/// `s` with every byte outside printable ASCII as \xNN, for error messages.
std::string escape_for_message(std::string_view s);

/// \brief A compiled glob pattern (fsspec semantics).
///
/// `*` matches within one component (a lone `*` needs at least one character), `**` must be a
/// whole component and matches any number of components, `?` one character other than "/",
/// `[...]` a class (`[!...]` negated, `a-z` ranges, a leading `]` literal; an unclosed `[` is
/// literal). Other characters are literal. There is no brace expansion.
class GlobPattern {
 public:
  /// \throws InvalidArgument if `**` is part of a longer component.
  explicit GlobPattern(std::string_view pattern);
  /// Whole-string match of a path ("dir/" with a trailing slash for directories when needed).
  bool match(std::string_view path) const;

 private:
  struct Part {
    enum Kind { kLiteralOrWild, kStar, kDoubleStar } kind;
    std::string text;
  };
  bool match_from(std::size_t pi, const std::vector<std::string_view>& comps, std::size_t ci) const;
  std::vector<Part> parts_;
};

/// fnmatch of one component: `*`, `?`, `[...]` as in GlobPattern, never crossing "/".
bool fnmatch_component(std::string_view pattern, std::string_view name);

/// \brief fsspec's other_paths: destination paths for copying `sources` into `dest`.
/// \param exists keep one more leading component of the common prefix (copy "into" a dir)
/// \param flatten use only the basename of each source (list sources)
std::vector<std::string> other_paths(const std::vector<std::string>& sources, std::string dest,
                                     bool exists, bool flatten);

/// Longest common leading run of whole components.
std::string common_prefix(const std::vector<std::string>& paths);

}  // namespace asyncfs::path
