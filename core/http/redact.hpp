#pragma once
// What the log may show of a request: URLs without credentials or secret query values, and
// headers with secret values replaced. Used by every log record that names a URL or header.

#include <span>
#include <string>
#include <string_view>

namespace asyncfs::http {

/// Stands for a removed secret in log records.
inline constexpr std::string_view kRedacted = "<redacted>";

/// \brief `url` without its userinfo ("user:pass@") and fragment, and with the value of every
/// query parameter whose name looks secret (signature, token, key, secret, password,
/// credential, auth, session, code) replaced by kRedacted. Never throws except bad_alloc.
std::string redact_url(std::string_view url);

/// \brief True for a header whose value must not be logged: Authorization, cookies, API keys,
/// tokens, and every name in `private_headers` (lower-case; the user's custom headers).
bool is_secret_header(std::string_view name, std::span<const std::string> private_headers = {});

/// \brief "name: value" for the log, the value replaced when is_secret_header() (the scheme of
/// an Authorization value, "Bearer" or "Basic", is kept).
std::string loggable_header(std::string_view name, std::string_view value,
                            std::span<const std::string> private_headers = {});

}  // namespace asyncfs::http
