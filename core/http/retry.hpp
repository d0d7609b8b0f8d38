#pragma once
// Retry policy of the HTTP client layer (http and firecrest backends): which failures are
// transient, how long to wait (exponential backoff with full jitter, or the server's Retry-After),
// all pure functions so they are unit-tested without a server.

#include <chrono>
#include <exception>
#include <optional>
#include <string_view>

namespace asyncfs::http {

struct RetryPolicy {
  int retries = 3;  ///< retries after the first attempt
  std::chrono::milliseconds backoff{500};
  std::chrono::milliseconds max_wait{30'000};
  /// Separate budget for 429 answers (the server asks to slow down; every retry waits what
  /// its Retry-After or RateLimit-Reset says): a rate-limit storm does not fail calls.
  int rate_limited_retries = 20;
  /// Of `retries`, how many may follow a Timeout: a server that stayed silent for a whole
  /// low-speed window is seldom quicker the next time, and every such attempt costs that
  /// window again (4 × 60 s used to hold a call to a dead server for 241 s).
  int timeout_retries = 1;
};

/// Statuses worth retrying: 408, 425, 429, 500, 502, 503, 504.
bool retryable_status(long status) noexcept;

/// Methods that may be repeated without changing the outcome (POST and MKCOL are not retried).
bool idempotent_method(std::string_view method) noexcept;

/// Whether a transport failure (an asyncfs::Error from the engine) is transient: network
/// errors (connect, reset, truncated body) and timeouts. Anything else (cancellation, TooLarge,
/// InvalidArgument, foreign exceptions) is final.
bool retryable_error(const std::exception_ptr& error) noexcept;

/// \brief Parses a Retry-After value: delta-seconds ("120") or an HTTP-date (IMF-fixdate,
/// RFC 850 or asctime) relative to `now`. A date in the past gives 0. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

/// \brief Delay before retry number `retry` (1-based): a uniform draw from
/// [0, min(max_wait, backoff * 2^(retry-1))] ("full jitter"), with `unit_random` in [0, 1).
std::chrono::milliseconds backoff_delay(int retry, std::chrono::milliseconds backoff,
                                        std::chrono::milliseconds max_wait, double unit_random);

/// \brief The wait before the next attempt: Retry-After when the server sent one (capped at
/// max_wait), else backoff_delay with a random draw.
std::chrono::milliseconds retry_wait(const RetryPolicy& policy, int retry,
                                     std::optional<std::string_view> retry_after);

}  // namespace asyncfs::http
