#pragma once
// Status → error mapping shared by every network backend: one table, so http and firecrest
// report a missing object, a refusal or an overloaded server the same way. A timeout or a 5xx
// is never NotFound.

#include <string>
#include <string_view>

#include "core/http/engine.hpp"

namespace asyncfs::http {

/// True for 2xx.
inline bool is_success(long status) noexcept { return status >= 200 && status < 300; }

/// The start of a body (200 bytes), escaped for a one-line message.
std::string body_excerpt(std::string_view body);

/// \brief The error kind of an unsuccessful status: 404/410 NotFound, 401/403
/// PermissionDenied, 400/422 InvalidArgument, 408 Timeout, 413 TooLarge,
/// 416 RangeNotSatisfiable, 429 RateLimited, 502/503/504 Network (server unavailable),
/// anything else Protocol.
ErrorKind status_error_kind(long status) noexcept;

/// \brief Throws the typed error for `status`, naming `url` (never a secret: callers pass the
/// redacted URL). The message is "<op> failed: <reason>"; `cause` (a body excerpt or the
/// server's own message) goes to Error::cause().
[[noreturn]] void throw_status(long status, const std::string& url, std::string_view op,
                               std::string cause);

/// Same, with an excerpt of the response body as Error::body() (not part of what()).
[[noreturn]] void throw_status(const Response& resp, const std::string& url, std::string_view op);

}  // namespace asyncfs::http
