#pragma once
// Byte encodings of the HTTP client layer: query and form values, and base64 for Basic auth.

#include <string>
#include <string_view>

namespace asyncfs::http {

/// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view in);

/// application/x-www-form-urlencoded / URL query escaping of one value (RFC 3986 unreserved
/// characters stay, everything else is %XX).
std::string url_encode(std::string_view in);

}  // namespace asyncfs::http
