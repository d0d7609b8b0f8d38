#include "core/http/redact.hpp"

#include <algorithm>
#include <array>

namespace asyncfs::http {

namespace {

char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower_char(c);
  return out;
}

/// Substrings that mark a name as secret. Broad on purpose: a redacted harmless value costs a
/// debugging detail, a logged secret costs a credential.
constexpr std::array<std::string_view, 12> kSecretWords = {
    "sig",        "token", "key",     "secret", "passw", "pwd",
    "credential", "auth",  "session", "cookie", "code",  "ticket"};

bool secret_name(std::string_view name) {
  const std::string l = lower(name);
  return std::any_of(kSecretWords.begin(), kSecretWords.end(),
                     [&](std::string_view w) { return l.find(w) != std::string::npos; });
}

}  // namespace

std::string redact_url(std::string_view url) {
  if (const auto hash = url.find('#'); hash != std::string_view::npos) url = url.substr(0, hash);
  std::string out;
  out.reserve(url.size());
  // Userinfo sits between "scheme://" and the first '@' of the authority.
  std::string_view rest = url;
  if (const auto scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
    out.append(url.substr(0, scheme_end + 3));
    rest = url.substr(scheme_end + 3);
    const auto authority_end = std::min(rest.find_first_of("/?"), rest.size());
    const auto at = rest.substr(0, authority_end).rfind('@');
    if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  }
  const auto q = rest.find('?');
  out.append(rest.substr(0, q));
  if (q == std::string_view::npos) return out;
  out += '?';
  std::string_view query = rest.substr(q + 1);
  bool first = true;
  while (true) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (!first) out += '&';
    first = false;
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && secret_name(param.substr(0, eq))) {
      out.append(param.substr(0, eq + 1));
      out.append(kRedacted);
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

bool is_secret_header(std::string_view name, std::span<const std::string> private_headers) {
  const std::string l = lower(name);
  if (std::find(private_headers.begin(), private_headers.end(), l) != private_headers.end()) {
    return true;
  }
  return secret_name(l);
}

std::string loggable_header(std::string_view name, std::string_view value,
                            std::span<const std::string> private_headers) {
  std::string out(name);
  out += ": ";
  if (!is_secret_header(name, private_headers)) {
    out.append(value);
    return out;
  }
  // "Bearer <redacted>" says which scheme was used without saying the credential.
  const std::string l = lower(name);
  if (l == "authorization" || l == "proxy-authorization") {
    const auto sp = value.find(' ');
    if (sp != std::string_view::npos && sp < 16) out.append(value.substr(0, sp + 1));
  }
  out.append(kRedacted);
  return out;
}

}  // namespace asyncfs::http
