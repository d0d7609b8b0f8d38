#pragma once
// Link extraction from HTML index pages, and the small URL helpers the HTTP backend needs.
//
// Pages come from arbitrary servers, so the scanner is a single forward pass (linear in the
// input, no regex, no recursion) that tolerates any garbage: unbalanced quotes, unterminated
// tags and comments simply end the scan.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asyncfs::http {

/// The parts of an absolute http(s) URL. `path` starts with "/" ("/" when the URL has none);
/// `query` excludes the "?", fragments are dropped.
struct UrlParts {
  std::string scheme;     ///< lower case: "http" or "https"
  std::string authority;  ///< host[:port] as written (userinfo dropped), lower-cased host
  std::string path;
  std::optional<std::string> query;
};

/// Parses an absolute http/https URL; nullopt for anything else (no host, other scheme,
/// control characters or spaces).
std::optional<UrlParts> parse_url(std::string_view url);

/// Values of the href attributes of every `<a>` tag, in document order, with the common
/// character references decoded (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;). Comments,
/// <script> and <style> contents are skipped.
std::vector<std::string> extract_hrefs(std::string_view html);

/// \brief The direct children that an index page at `page_url` links to, as absolute URLs.
///
/// The page URL is taken as a directory (a trailing "/" is implied). Links are resolved
/// against it; fragments are dropped; query-only links (sort links such as "?C=N;O=D"),
/// non-http schemes (mailto:, javascript:, ftp:), other hosts, the page itself, its parent
/// and deeper descendants are excluded. With `same_scheme` only the page's scheme is kept,
/// otherwise http and https links to the same host both count. A child directory keeps its
/// trailing "/". Result: sorted, without duplicates.
std::vector<std::string> child_links(std::string_view html, std::string_view page_url,
                                     bool same_scheme);

/// Whether a Content-Type (may be empty) denotes an HTML page ("text/html; charset=..."),
/// case-insensitive. An absent header counts as HTML, as servers of plain indexes omit it.
bool is_html_content_type(std::string_view content_type);

}  // namespace asyncfs::http
