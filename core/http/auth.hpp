#pragma once
// Auth providers of the HTTP client layer: where the Authorization header of a request comes
// from. A static value (http's token or basic auth), OAuth2 client credentials with a
// single-flight refresh well before expiry, or a command that prints a token. The client asks
// before every request and, after a 401, invalidates the refused value and retries once.
//
// Secrets stay inside the provider: errors name the token URL or the command's first word,
// never the secret, the token or the request body.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "asyncfs/errors.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/task.hpp"
#include "core/http/encoding.hpp"
#include "core/http/engine.hpp"
#include "core/http/retry.hpp"

namespace asyncfs::http {

/// \brief Supplies the Authorization header. Used on the loop thread of the client that owns
/// it; one provider serves one IoThread.
class AuthProvider {
 public:
  virtual ~AuthProvider() = default;
  /// The header value to send ("Bearer ..."), or "" for none. May fetch a token.
  virtual Task<std::string> authorization(IoThread& io) = 0;
  /// \brief After a 401 that answered `refused`: forget it. Returns true when a retry may get
  /// a different value (false for a static value: the 401 is final).
  virtual bool invalidate(const std::string& refused) = 0;
};

/// A fixed header value ("Bearer <token>", "Basic <b64>").
std::shared_ptr<AuthProvider> static_auth(std::string header_value);

/// "Basic " + base64(user:password).
std::string basic_authorization(std::string_view user, std::string_view password);

struct ClientCredentials {
  std::string token_url;
  std::string client_id;
  std::string client_secret;
  /// true: client_secret_basic (HTTP Basic header); false: client_secret_post (form fields).
  bool basic = false;
  /// Refresh when less than max(min_margin, lifetime/4) is left (capped at half the
  /// lifetime): FirecREST refuses tokens with less than 30 s left.
  std::chrono::milliseconds min_margin{60'000};
  TransportOptions transport;
  RetryPolicy retry;
};

/// \brief OAuth2 client-credentials grant. Concurrent callers share one token request
/// (single flight); a failed request fails every caller waiting for it, with one error each.
std::shared_ptr<AuthProvider> client_credentials_auth(ClientCredentials creds);

struct TokenCommand {
  std::string command;  ///< run with /bin/sh -c; its stdout (trimmed) is the token
  /// Reuse a token for this long (a 401 re-runs the command at once).
  std::chrono::milliseconds max_age{60'000};
  std::chrono::milliseconds timeout{30'000};
};

/// \brief A bare token from a blocking function (a vault, a file, a custom flow), run on
/// libuv's thread pool, reused for `max_age` or until a 401; single flight. `name` is what
/// errors call it.
std::shared_ptr<AuthProvider> token_function_auth(std::function<std::string()> fn,
                                                  std::chrono::milliseconds max_age,
                                                  std::string name);

/// \brief A token printed by a command (pyFirecREST's TokenCommandAuth), run off the loop on
/// libuv's thread pool, single flight like client credentials.
std::shared_ptr<AuthProvider> token_command_auth(TokenCommand cmd);

/// Counters for tests and benchmarks.
struct AuthStats {
  std::uint64_t token_requests = 0;
};
AuthStats auth_stats(const AuthProvider& provider);

}  // namespace asyncfs::http
