// Path helpers and the glob matcher (fsspec semantics, matched component by component).

#include "asyncfs/path.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "asyncfs/errors.hpp"

namespace asyncfs::path {

std::string_view strip_trailing_slash(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

bool has_trailing_slash(std::string_view p) noexcept { return !p.empty() && p.back() == '/'; }

std::string parent(std::string_view p) {
  p = strip_trailing_slash(p);
  const auto pos = p.rfind('/');
  if (pos == std::string_view::npos) return "";
  // "/a" has the root as its parent; a bare "/" is its own parent.
  if (pos == 0) return "/";
  return std::string(p.substr(0, pos));
}

std::string_view basename(std::string_view p) {
  p = strip_trailing_slash(p);
  if (p == "/") return p;
  const auto pos = p.rfind('/');
  return pos == std::string_view::npos ? p : p.substr(pos + 1);
}

std::string join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  while (!a.empty() && a.back() == '/') a.remove_suffix(1);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  std::string out;
  out.reserve(a.size() + 1 + b.size());
  out.append(a);
  out.push_back('/');
  out.append(b);
  return out;
}

bool has_magic(std::string_view p, bool question_mark_is_wildcard) noexcept {
  return p.find_first_of(question_mark_is_wildcard ? "*?[" : "*[") != std::string_view::npos;
}

std::string escape_glob(std::string_view p) {
  std::string out;
  out.reserve(p.size());
  for (char c : p) {
    if (c == '*' || c == '?' || c == '[') {
      out += '[';
      out += c;
      out += ']';
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

/// The code point of the valid UTF-8 sequence at s[i] and its length; nullopt when the bytes
/// there are not UTF-8 (bad lead or continuation byte, truncated, overlong, surrogate, or past
/// U+10FFFF).
std::optional<std::pair<char32_t, std::size_t>> decode_utf8_at(std::string_view s,
                                                               std::size_t i) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned c = b[i];
  std::size_t len;
  char32_t cp;
  if (c < 0x80) return std::pair<char32_t, std::size_t>{c, 1};
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b[i + k] & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b[i + k] & 0x3F);
  }
  static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return std::pair<char32_t, std::size_t>{cp, len};
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const auto d = decode_utf8_at(s, i);
    if (!d) return false;
    i += d->second;
  }
  return true;
}

std::string escape_for_message(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// fnmatch of one component.
//
// The pattern is compiled into tokens over code points (UTF-8 decoded) so that `?` and classes
// consume a whole character, as Python's regex does on str. Bytes that are not valid UTF-8 each
// stand for themselves, mapped to a range no real code point uses.

namespace {

constexpr char32_t kRawByteBase = 0x110000;

std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (const auto d = decode_utf8_at(s, i)) {
      out.push_back(d->first);
      i += d->second;
    } else {
      out.push_back(kRawByteBase + static_cast<unsigned char>(s[i]));
      ++i;
    }
  }
  return out;
}

struct Range {
  char32_t lo;
  char32_t hi;
};

struct Token {
  enum Kind { kChar, kAny, kStar, kClass } kind;
  char32_t ch = 0;
  bool negated = false;
  std::vector<Range> ranges;  // empty and not negated: matches nothing
};

// Builds the members of a bracket expression from its body (after the optional '!'), following
// the rules of Python's fnmatch: a '-' between two characters makes a range, the first character
// never starts with a range operator, a '-' right after a range is literal, a trailing '-' is
// literal, and a range whose ends are reversed is dropped.
std::vector<Range> parse_class_body(const std::vector<char32_t>& body) {
  std::vector<std::vector<char32_t>> chunks;
  std::size_t start = 0;
  std::size_t k = 1;
  bool has_dash = std::find(body.begin(), body.end(), U'-') != body.end();
  if (has_dash) {
    while (k < body.size()) {
      auto it = std::find(body.begin() + static_cast<std::ptrdiff_t>(k), body.end(), U'-');
      if (it == body.end()) break;
      const auto dash = static_cast<std::size_t>(it - body.begin());
      chunks.emplace_back(body.begin() + static_cast<std::ptrdiff_t>(start), it);
      start = dash + 1;
      k = dash + 3;
    }
    std::vector<char32_t> last(body.begin() + static_cast<std::ptrdiff_t>(start), body.end());
    if (!last.empty()) {
      chunks.push_back(std::move(last));
    } else if (!chunks.empty()) {
      chunks.back().push_back(U'-');
    } else {
      chunks.push_back({U'-'});
    }
    // Drop reversed ranges by fusing the two chunks around them.
    for (std::size_t m = chunks.size() - 1; m >= 1; --m) {
      if (!chunks[m - 1].empty() && !chunks[m].empty() &&
          chunks[m - 1].back() > chunks[m].front()) {
        chunks[m - 1].pop_back();
        chunks[m - 1].insert(chunks[m - 1].end(), chunks[m].begin() + 1, chunks[m].end());
        chunks.erase(chunks.begin() + static_cast<std::ptrdiff_t>(m));
      }
    }
  } else {
    chunks.push_back(body);
  }

  std::vector<Range> out;
  for (std::size_t m = 0; m < chunks.size(); ++m) {
    const auto& c = chunks[m];
    if (c.empty()) continue;
    const bool starts_range = m > 0;
    const bool ends_range = m + 1 < chunks.size();
    std::size_t from = starts_range ? 1 : 0;
    std::size_t to = ends_range ? c.size() - 1 : c.size();
    if (starts_range) out.push_back({chunks[m - 1].back(), c.front()});
    for (std::size_t q = from; q < to; ++q) out.push_back({c[q], c[q]});
  }
  return out;
}

std::vector<Token> compile_component(std::string_view pattern) {
  const std::vector<char32_t> pat = decode(pattern);
  std::vector<Token> toks;
  const std::size_t n = pat.size();
  std::size_t i = 0;
  while (i < n) {
    const char32_t c = pat[i++];
    if (c == U'*') {
      if (toks.empty() || toks.back().kind != Token::kStar) toks.push_back({Token::kStar});
    } else if (c == U'?') {
      toks.push_back({Token::kAny});
    } else if (c == U'[') {
      std::size_t j = i;
      if (j < n && pat[j] == U'!') ++j;
      if (j < n && pat[j] == U']') ++j;
      while (j < n && pat[j] != U']') ++j;
      if (j >= n) {
        toks.push_back({Token::kChar, U'['});  // unclosed: a literal '['
        continue;
      }
      Token t{Token::kClass};
      std::size_t b = i;
      if (pat[b] == U'!') {
        t.negated = true;
        ++b;
      }
      std::vector<char32_t> body(pat.begin() + static_cast<std::ptrdiff_t>(b),
                                 pat.begin() + static_cast<std::ptrdiff_t>(j));
      t.ranges = parse_class_body(body);
      toks.push_back(std::move(t));
      i = j + 1;
    } else {
      toks.push_back({Token::kChar, c});
    }
  }
  return toks;
}

bool token_matches(const Token& t, char32_t c) {
  switch (t.kind) {
    case Token::kChar:
      return t.ch == c;
    case Token::kAny:
      return true;
    case Token::kClass: {
      bool in = false;
      for (const auto& r : t.ranges) {
        if (c >= r.lo && c <= r.hi) {
          in = true;
          break;
        }
      }
      return in != t.negated;
    }
    case Token::kStar:
      return false;
  }
  return false;
}

// Classic wildcard matching: on a mismatch, let the most recent '*' swallow one more character.
// That is complete because a later '*' can absorb anything an earlier one could.
bool match_tokens(const std::vector<Token>& toks, const std::vector<char32_t>& s) {
  std::size_t ti = 0, si = 0;
  std::size_t star_t = std::string::npos, star_s = 0;
  while (si < s.size()) {
    if (ti < toks.size() && toks[ti].kind == Token::kStar) {
      star_t = ti++;
      star_s = si;
    } else if (ti < toks.size() && token_matches(toks[ti], s[si])) {
      ++ti;
      ++si;
    } else if (star_t != std::string::npos) {
      ti = star_t + 1;
      si = ++star_s;
    } else {
      return false;
    }
  }
  while (ti < toks.size() && toks[ti].kind == Token::kStar) ++ti;
  return ti == toks.size();
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find('/', start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

}  // namespace

bool fnmatch_component(std::string_view pattern, std::string_view name) {
  if (name.find('/') != std::string_view::npos) return false;
  return match_tokens(compile_component(pattern), decode(name));
}

// ------------------------------------------------------------------------------------------------

GlobPattern::GlobPattern(std::string_view pattern) {
  for (std::string_view comp : split(pattern)) {
    if (comp == "*") {
      parts_.push_back({Part::kStar, "*"});
    } else if (comp == "**") {
      parts_.push_back({Part::kDoubleStar, "**"});
    } else if (comp.find("**") != std::string_view::npos) {
      throw InvalidArgument(escape_for_message(pattern),
                            "invalid glob: '**' can only be an entire path component");
    } else {
      parts_.push_back({Part::kLiteralOrWild, std::string(comp)});
    }
  }
}

bool GlobPattern::match(std::string_view path) const { return match_from(0, split(path), 0); }

// Simulates the pattern as an automaton over component positions: `reach[c]` says the parts
// consumed so far can end just before component c. Each part maps the set forward, so `**`
// costs O(components^2) once instead of exponential backtracking.
bool GlobPattern::match_from(std::size_t pi, const std::vector<std::string_view>& comps,
                             std::size_t ci) const {
  const std::size_t n = comps.size();
  std::vector<char> reach(n + 1, 0);
  if (ci > n) return false;
  reach[ci] = 1;
  for (std::size_t p = pi; p < parts_.size(); ++p) {
    const Part& part = parts_[p];
    const bool last = p + 1 == parts_.size();
    std::vector<char> next(n + 1, 0);
    bool any = false;
    for (std::size_t c = 0; c <= n; ++c) {
      if (!reach[c]) continue;
      switch (part.kind) {
        case Part::kStar:
          // A lone '*' names exactly one component of at least one character.
          if (c < n && !comps[c].empty()) next[c + 1] = 1;
          break;
        case Part::kLiteralOrWild:
          if (c < n && fnmatch_component(part.text, comps[c])) next[c + 1] = 1;
          break;
        case Part::kDoubleStar:
          if (last) {
            // A final '**' takes every remaining component, at least one (possibly empty: the
            // "" after "dir/" is how a directory matches "dir/**").
            if (c < n) next[n] = 1;
          } else {
            // Zero components, or any run whose text is not empty (a lone empty component is
            // not a run: "a//b" does not match "a/**/b" through it).
            next[c] = 1;
            for (std::size_t e = c + 1; e <= n; ++e) {
              if (e == c + 1 && comps[c].empty()) continue;
              next[e] = 1;
            }
          }
          break;
      }
    }
    for (std::size_t c = 0; c <= n; ++c) any = any || next[c];
    if (!any) return false;
    reach.swap(next);
  }
  return reach[n] != 0;
}

// ------------------------------------------------------------------------------------------------

std::string common_prefix(const std::vector<std::string>& paths) {
  if (paths.empty()) return "";
  std::vector<std::vector<std::string_view>> parts;
  parts.reserve(paths.size());
  std::size_t lmin = std::string::npos;
  for (const auto& p : paths) {
    parts.push_back(split(p));
    lmin = std::min(lmin, parts.back().size());
  }
  std::size_t keep = 0;
  while (keep < lmin) {
    bool same = true;
    for (const auto& ps : parts) {
      if (ps[keep] != parts[0][keep]) {
        same = false;
        break;
      }
    }
    if (!same) break;
    ++keep;
  }
  std::string out;
  for (std::size_t i = 0; i < keep; ++i) {
    if (i) out.push_back('/');
    out.append(parts[0][i]);
  }
  return out;
}

std::vector<std::string> other_paths(const std::vector<std::string>& sources, std::string dest,
                                     bool exists, bool flatten) {
  while (!dest.empty() && dest.back() == '/') dest.pop_back();
  std::vector<std::string> out;
  out.reserve(sources.size());
  if (flatten) {
    for (const auto& s : sources) {
      const auto pos = s.rfind('/');
      out.push_back(dest + "/" + (pos == std::string::npos ? s : s.substr(pos + 1)));
    }
    return out;
  }
  std::string cp = common_prefix(sources);
  if (exists) {
    const auto pos = cp.rfind('/');
    if (pos != std::string::npos) cp.resize(pos);
  }
  const bool all_relative = std::none_of(sources.begin(), sources.end(), [](const std::string& s) {
    return !s.empty() && s.front() == '/';
  });
  for (const auto& s : sources) {
    if (cp.empty() && all_relative) {
      out.push_back(dest + "/" + s);
    } else {
      // cp is a leading run of whole components of every source, so swapping the prefix is
      // the same as replacing its first occurrence.
      out.push_back(dest + s.substr(cp.size()));
    }
  }
  return out;
}

}  // namespace asyncfs::path
