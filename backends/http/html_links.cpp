// Link extraction from HTML index pages: a single forward scan, no regex (pages are untrusted
// and a backtracking regex can be made to take exponential time or overflow the stack).

#include "backends/http/html_links.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

namespace asyncfs::http {
namespace {

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower_ascii(c);
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool iequals_prefix(std::string_view s, std::size_t at, std::string_view lower_word) {
  if (at > s.size() || s.size() - at < lower_word.size()) return false;
  for (std::size_t k = 0; k < lower_word.size(); ++k) {
    if (lower_ascii(s[at + k]) != lower_word[k]) return false;
  }
  return true;
}

/// Case-insensitive find of a lower-case needle; linear for the short needles used here.
std::size_t ifind(std::string_view s, std::string_view lower_needle, std::size_t from) {
  if (lower_needle.empty() || s.size() < lower_needle.size()) return std::string_view::npos;
  for (std::size_t i = from; i + lower_needle.size() <= s.size(); ++i) {
    if (iequals_prefix(s, i, lower_needle)) return i;
  }
  return std::string_view::npos;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Decodes the character references an href realistically contains; anything else is kept.
std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i++];
      continue;
    }
    const std::string_view name = s.substr(i + 1, semi - i - 1);
    bool done = true;
    if (name == "amp") {
      out += '&';
    } else if (name == "lt") {
      out += '<';
    } else if (name == "gt") {
      out += '>';
    } else if (name == "quot") {
      out += '"';
    } else if (name == "apos") {
      out += '\'';
    } else if (name.size() >= 2 && name[0] == '#') {
      std::uint32_t cp = 0;
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      for (char c : digits) {
        int d = -1;
        if (is_digit(c)) d = c - '0';
        if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        if (d < 0 || cp > 0x10FFFF) {
          done = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
      }
      if (digits.empty()) done = false;
      if (done) append_utf8(out, cp);
    } else {
      done = false;
    }
    if (done) {
      i = semi + 1;
    } else {
      out += s[i++];
    }
  }
  return out;
}

/// RFC 3986 remove_dot_segments for an absolute path (starting with "/").
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> segs;
  bool trailing = path.ends_with('/');
  std::size_t i = 1;  // path[0] == '/'
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view seg = path.substr(i, j - i);
    const bool last = j >= path.size();
    if (seg == ".") {
      if (last) trailing = true;
    } else if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      if (last) trailing = true;
    } else if (!(last && seg.empty())) {
      segs.push_back(seg);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& seg : segs) {
    out += '/';
    out.append(seg);
  }
  if (out.empty() || trailing) out += '/';
  return out;
}

/// Splits "path?query" (fragment already removed).
void split_query(std::string_view s, std::string& path, std::optional<std::string>& query) {
  const std::size_t q = s.find('?');
  path.assign(s.substr(0, q));
  if (q != std::string_view::npos) query.emplace(s.substr(q + 1));
}

}  // namespace

namespace {

/// "host", "host:port", "[v6]" or "[v6]:port", the port 0-65535 in digits ("host:" too: an
/// empty port is the default one, RFC 3986 §3.2.3). curl would refuse the others later, as
/// "bad URL" from deep in a transfer; here they are refused before anything is sent.
bool valid_host_and_port(std::string_view auth) {
  std::string_view port;
  if (auth.front() == '[') {
    const std::size_t close = auth.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    const std::string_view after = auth.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    if (!after.empty()) port = after.substr(1);
  } else if (const std::size_t colon = auth.rfind(':'); colon != std::string_view::npos) {
    port = auth.substr(colon + 1);
  }
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

}  // namespace

std::optional<UrlParts> parse_url(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
  }
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  UrlParts out;
  out.scheme = lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  const std::size_t auth_end = std::min(rest.find_first_of("/?"), rest.size());
  std::string_view auth = rest.substr(0, auth_end);
  if (const std::size_t at = auth.rfind('@'); at != std::string_view::npos) {
    auth = auth.substr(at + 1);
  }
  if (auth.empty() || auth.front() == ':') return std::nullopt;
  if (!valid_host_and_port(auth)) return std::nullopt;
  out.authority = lower(auth);
  // The default port is the same origin as no port.
  const std::string default_port = out.scheme == "http" ? ":80" : ":443";
  if (out.authority.ends_with(default_port) && out.authority.back() != ']') {
    out.authority.resize(out.authority.size() - default_port.size());
  }
  split_query(rest.substr(auth_end), out.path, out.query);
  if (out.path.empty()) out.path = "/";
  return out;
}

std::vector<std::string> extract_hrefs(std::string_view html) {
  std::vector<std::string> out;
  const std::size_t n = html.size();
  std::size_t i = 0;
  while (i < n) {
    const std::size_t lt = html.find('<', i);
    if (lt == std::string_view::npos) break;
    i = lt + 1;
    if (html.substr(i, 3) == "!--") {
      const std::size_t end = html.find("-->", i + 3);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    if (i < n && (html[i] == '!' || html[i] == '?')) {  // doctype, processing instruction
      const std::size_t gt = html.find('>', i);
      if (gt == std::string_view::npos) break;
      i = gt + 1;
      continue;
    }
    // Tag name ("</a>" has none we care about: its name starts with '/').
    const std::size_t name_start = i;
    while (i < n && (is_alpha(html[i]) || is_digit(html[i]))) ++i;
    const std::string tag = lower(html.substr(name_start, i - name_start));
    if (tag.empty()) continue;  // "<" in text, "</x>": rescan from here
    bool have_href = false;
    // Attributes until '>'; every iteration consumes at least one character.
    while (i < n) {
      while (i < n && (is_space(html[i]) || html[i] == '/')) ++i;
      if (i >= n) break;
      if (html[i] == '>') {
        ++i;
        break;
      }
      const std::size_t an = i;
      while (i < n && !is_space(html[i]) && html[i] != '=' && html[i] != '>' && html[i] != '/') {
        ++i;
      }
      if (i == an) ++i;  // a stray '=': skip it
      const std::string attr = lower(html.substr(an, i - an));
      std::size_t k = i;
      while (k < n && is_space(html[k])) ++k;
      if (k >= n || html[k] != '=') continue;  // attribute without value
      i = k + 1;
      while (i < n && is_space(html[i])) ++i;
      std::string_view value;
      if (i < n && (html[i] == '"' || html[i] == '\'')) {
        const char q = html[i];
        const std::size_t close = html.find(q, i + 1);
        if (close == std::string_view::npos) {
          i = n;  // unterminated quote: the rest of the page is not trustworthy
          break;
        }
        value = html.substr(i + 1, close - i - 1);
        i = close + 1;
      } else {
        const std::size_t vs = i;
        while (i < n && !is_space(html[i]) && html[i] != '>') ++i;
        value = html.substr(vs, i - vs);
      }
      if (tag == "a" && attr == "href" && !have_href) {
        have_href = true;
        out.push_back(decode_entities(value));
      }
    }
    if (tag == "script" || tag == "style") {
      const std::string close = "</" + tag;
      const std::size_t end = ifind(html, close, i);
      if (end == std::string_view::npos) break;
      i = end + close.size();
    }
  }
  return out;
}

namespace {

/// Spaces as "%20"; false when `s` holds a control character.
bool escape_spaces(std::string& s) {
  if (std::any_of(s.begin(), s.end(),
                  [](char c) { return (static_cast<unsigned char>(c) < 0x20) || c == 0x7f; })) {
    return false;
  }
  for (std::size_t at = s.find(' '); at != std::string::npos; at = s.find(' ', at + 3)) {
    s.replace(at, 1, "%20");
  }
  return true;
}

}  // namespace

std::vector<std::string> child_links(std::string_view html, std::string_view page_url,
                                     bool same_scheme) {
  auto page = parse_url(page_url);
  if (!page) return {};
  std::string dir = page->path;
  if (!dir.ends_with('/')) dir += '/';
  // Results reuse the page's own spelling of scheme and authority.
  const std::size_t auth_start = page_url.find("://") + 3;
  const std::size_t auth_end = std::min(page_url.find_first_of("/?#", auth_start), page_url.size());
  const std::string origin(page_url.substr(0, auth_end));

  std::set<std::string> out;
  for (std::string href : extract_hrefs(html)) {
    // Browsers drop tabs and newlines anywhere in a URL and trim spaces at both ends.
    std::erase_if(href, [](char c) { return c == '\t' || c == '\n' || c == '\r'; });
    const auto b = href.find_first_not_of(" \f");
    const auto e = href.find_last_not_of(" \f");
    href = b == std::string::npos ? std::string() : href.substr(b, e - b + 1);
    if (const auto hash = href.find('#'); hash != std::string::npos) href.resize(hash);
    if (href.empty() || href.front() == '?') continue;

    std::string scheme;
    std::string path;
    std::optional<std::string> query;
    bool same_origin = true;
    // A scheme is letters/digits/+-. before the first ':' that precedes any '/' or '?'.
    const std::size_t colon = href.find(':');
    const std::size_t delim = href.find_first_of("/?");
    const bool has_scheme =
        colon != std::string::npos && colon > 0 && is_alpha(href[0]) &&
        (delim == std::string::npos || colon < delim) &&
        std::all_of(href.begin(), href.begin() + static_cast<long>(colon), [](char c) {
          return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
        });
    if (has_scheme || href.starts_with("//")) {
      const std::string absolute = has_scheme ? href : page->scheme + ":" + href;
      auto parts = parse_url(absolute);
      if (!parts) continue;  // mailto:, javascript:, ftp:, malformed
      if (parts->authority != page->authority) continue;
      if (parts->scheme != page->scheme && same_scheme) continue;
      scheme = parts->scheme;
      same_origin = parts->scheme == page->scheme;
      path = std::move(parts->path);
      query = std::move(parts->query);
    } else if (href.front() == '/') {
      split_query(href, path, query);
    } else {
      split_query(href, path, query);
      path = dir + path;
    }
    // A control character drops the link; a space (a sloppy index linking "my file.txt")
    // is escaped as a browser would, so every child is a URL parse_url accepts.
    if (!escape_spaces(path) || (query && !escape_spaces(*query))) continue;
    if (path.empty()) continue;
    path = remove_dot_segments(path);
    if (!path.starts_with(dir)) continue;  // parent, sibling trees, other roots
    const std::string_view rest = std::string_view(path).substr(dir.size());
    if (rest.empty()) continue;  // the page itself
    const std::size_t slash = rest.find('/');
    if (slash != std::string_view::npos && slash != rest.size() - 1) continue;  // deeper
    std::string url = same_origin ? origin : scheme + "://" + page->authority;
    url += path;
    if (query) url += "?" + *query;
    out.insert(std::move(url));
  }
  return {out.begin(), out.end()};
}

bool is_html_content_type(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  std::string_view media = content_type.substr(0, semi);
  while (!media.empty() && is_space(media.front())) media.remove_prefix(1);
  while (!media.empty() && is_space(media.back())) media.remove_suffix(1);
  if (media.empty()) return true;
  const std::string m = lower(media);
  return m == "text/html" || m == "application/xhtml+xml";
}

}  // namespace asyncfs::http
