#pragma once
// Per-host circuit breaker of the HTTP engine: after `threshold` consecutive failures to
// connect to one scheme://host:port, further requests there fail at once (NetworkError
// kCircuitOpen, not retried) for a cool-down; then one request probes, and its success closes
// the circuit for everyone. A dead server thus fails a 20,000-URL cat in moments instead of
// 20,000 × (connect + retries). Loop thread only, like the engine that owns it.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "asyncfs/errors.hpp"

namespace asyncfs::http {

/// Message (start) of the NetworkError a request gets while its host's circuit is open.
inline constexpr std::string_view kCircuitOpen = kCircuitOpenMessage;

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  /// "scheme://authority" of a URL, lower-cased: the key failures are counted under.
  static std::string key_of(std::string_view url);

  /// Why a request to `key` must not be tried now, or nullopt (which may make it the probe).
  std::optional<std::string> refuse(const std::string& key, int threshold,
                                    std::chrono::milliseconds cooldown, Clock::time_point now);
  /// A connection to `key` was made (whatever the answer was).
  void succeeded(const std::string& key);
  /// A connection to `key` could not be made. True when this failure opened the circuit.
  bool failed(const std::string& key, int threshold, std::chrono::milliseconds cooldown,
              Clock::time_point now);

 private:
  struct Host {
    int consecutive = 0;
    Clock::time_point open_until{};
  };
  std::unordered_map<std::string, Host> hosts_;
};

}  // namespace asyncfs::http
