#pragma once
// Spelling of the URLs the HTTP backend names files by: one canonical escaping per name, and
// the user:password a URL may carry taken out of it (kept per origin, never in a name).

#include <optional>
#include <string>
#include <string_view>

namespace asyncfs::http {

/// Characters that may stand unescaped in a path segment (RFC 3986 pchar), except '*', which
/// stays escaped because globs treat it as magic.
bool literal_in_path(unsigned char c);

/// \brief One spelling per name, whatever the server's or the user's escaping: in the path,
/// "%XX" of a character that may stand literally is decoded ("x%2By" -> "x+y", as nginx
/// escapes every sub-delimiter), other escapes get upper-case hex, and raw non-ASCII bytes are
/// escaped ("héllo" -> "h%C3%A9llo", the form index pages link to). Without this a name
/// would not round-trip between what a user writes and what ls() returns. The query string
/// is left alone: its escaping may be significant to the server.
std::string canonical_escapes(std::string_view url);

/// The "user:pass" of "scheme://user:pass@host/...", with the URL without it in `*without`;
/// nullopt (and `*without` untouched) when there is none.
std::optional<std::string> split_userinfo(std::string_view url, std::string* without);

/// "%XX" escapes decoded (libcurl's decoder; other bytes as they are).
std::string percent_decode(std::string_view s);

/// "scheme://host[:port]" of a URL, lower-cased, without userinfo and default port: the key
/// under which URL credentials are kept ("" for a URL parse_url refuses).
std::string origin_of(std::string_view url);

}  // namespace asyncfs::http
