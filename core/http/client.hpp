#pragma once
// The HTTP client layer every network backend sends through: request building (base headers,
// authentication), the rate policy (in-flight cap, per-service spacing, 429 deferral) and the
// retry policy (backoff with jitter, Retry-After, idempotency, one re-authentication after a
// 401, a deadline per call) on top of the engine. One implementation of each policy, shared
// by the http and firecrest backends.
//
// Loop thread only: a Client belongs to one IoThread (docs/threading.md).

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "asyncfs/bytes.hpp"
#include "asyncfs/callback.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/task.hpp"
#include "core/http/auth.hpp"
#include "core/http/engine.hpp"
#include "core/http/rate_limiter.hpp"
#include "core/http/retry.hpp"

namespace asyncfs::http {

/// One request as a backend describes it; copyable so that every attempt rebuilds it.
struct RequestSpec {
  std::string method = "GET";
  std::string url;
  Headers headers;  ///< in addition to the client's headers and authentication
  std::optional<Bytes> body;
  std::string upload_path;
  std::uint64_t upload_offset = 0;  ///< see Request::upload_offset
  std::optional<std::uint64_t> upload_length;
  /// "" = identity (sizes and ranges refer to the stored bytes); otherwise curl decodes.
  std::string accept_encoding;
  std::optional<std::uint64_t> max_bytes;
  Callback* progress = nullptr;
  /// Rate-limiter key (RateLimits::spacing); "" is a service like any other.
  std::string service;
  /// Whether repeating the request is harmless; nullopt = by method (GET, HEAD, PUT, DELETE,
  /// OPTIONS). Non-idempotent requests are retried only after 429/503, which say the server
  /// did not act on them.
  std::optional<bool> idempotent;
  /// Budget of the whole call, retries and waits included; nullopt = the client's.
  std::optional<std::chrono::milliseconds> deadline;
  /// false: no Authorization header (presigned URLs, token endpoints).
  bool authenticate = true;
  /// Says whether a response with a retryable status is nevertheless final: an API that
  /// reports a deterministic failure as 500 (a remote command's exit status) gains nothing
  /// from a retry. Empty = every retryable status is retried.
  std::function<bool(const Response&)> final_answer;
};

struct ClientOptions {
  TransportOptions transport;
  RetryPolicy retry;
  Headers headers;  ///< sent with every request
  /// Lower-case names of `headers` that may follow a redirect to another host; the others
  /// are dropped there, like Authorization and Cookie (an API key is a credential too).
  std::vector<std::string> redirect_safe_headers;
  std::shared_ptr<AuthProvider> auth;  ///< null = no authentication
  /// Without `auth` (or when it gives nothing): the Authorization value for a URL's origin,
  /// "" for none (credentials a user put in URLs). Called on the loop thread.
  std::function<std::string(std::string_view url)> origin_auth;
  RateLimits limits;
  std::optional<std::chrono::milliseconds> deadline;  ///< default per-call budget
};

class Client {
 public:
  /// May be constructed on any thread; used only on `io`'s loop thread.
  Client(IoThread& io, ClientOptions options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// \brief Performs a request under the client's policies. Returns any final status (callers
  /// map it with throw_status()); throws what Engine::fetch throws once retries are spent.
  Task<Response> send(RequestSpec spec);
  /// \brief Engine::stream under the same policies, retried until a response head arrives.
  Task<std::unique_ptr<BodyStream>> stream(RequestSpec spec, std::size_t high_water);

  IoThread& io() const noexcept { return io_; }
  const ClientOptions& options() const noexcept { return options_; }
  RateLimiter& limiter() noexcept { return limiter_; }

 private:
  IoThread& io_;
  ClientOptions options_;
  RateLimiter limiter_;
};

/// \brief The client's policies applied attempt by attempt, for a caller whose attempt is
/// more than a fetch (a sink and a temporary file per attempt):
///
///     Attempts attempts(client, spec);
///     for (;;) {
///       Request req = co_await attempts.start();       // auth + rate permit
///       ... co_await engine.fetch(std::move(req), attempts.transport()) ...
///       bool again = co_await attempts.retry(resp_or_null, error);  // waits as needed
///       if (!again) break;                              // final: report resp or error
///     }
class Attempts {
 public:
  Attempts(Client& client, RequestSpec spec);

  /// Waits for authentication and a rate permit, and builds the next attempt's request.
  Task<Request> start();
  /// Transport options of the current attempt (total timeout cut to the deadline).
  const TransportOptions& transport() const noexcept { return transport_; }
  /// \brief After an attempt that gave `resp` (or failed with `error`): releases the permit and
  /// returns true after waiting when another attempt should follow, false when this outcome
  /// is final.
  Task<bool> retry(const Response* resp, std::exception_ptr error);
  /// Attempts started so far.
  int attempts() const noexcept { return attempts_; }

 private:
  std::optional<std::chrono::milliseconds> wait_after(const Response* resp,
                                                      const std::exception_ptr& error);

  Client& client_;
  RequestSpec spec_;
  bool idempotent_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  TransportOptions transport_;
  RateLimiter::Permit permit_;
  std::string sent_auth_;
  bool provider_auth_ = false;  ///< sent_auth_ came from ClientOptions::auth (may refresh)
  int attempts_ = 0;
  int retries_ = 0;
  int rate_limited_ = 0;
  int timeouts_ = 0;
  bool reauthenticated_ = false;
};

}  // namespace asyncfs::http
