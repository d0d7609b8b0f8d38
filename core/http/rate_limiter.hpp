#pragma once
// Request-rate policy of the HTTP client layer: a cap on requests in flight, and an optional
// minimum spacing between the starts of requests of one "service" (pyFirecREST's
// time_between_calls: status, compute, filesystem, ...). A 429's Retry-After defers every
// request of that service, not only the one that got it.
//
// Loop thread only (one limiter per client, which lives on one IoThread).

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "asyncfs/io_thread.hpp"
#include "asyncfs/task.hpp"
#include "core/wait_queue.hpp"

namespace asyncfs::http {

struct RateLimits {
  /// Requests in flight at once; 0 = unlimited.
  std::size_t max_in_flight = 0;
  /// Minimum time between the starts of two requests of one service; services not listed
  /// (and a zero) are not spaced. The key "*" applies to every service not listed.
  std::map<std::string, std::chrono::milliseconds> spacing;
};

class RateLimiter {
 public:
  RateLimiter(IoThread& io, RateLimits limits);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;
  ~RateLimiter();

  /// \brief One request's right to run: holds an in-flight slot until destroyed (or
  /// release()d). Movable; must not outlive its limiter.
  class Permit {
   public:
    Permit() = default;
    explicit Permit(RateLimiter* owner) : owner_(owner) {}
    Permit(Permit&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
    Permit& operator=(Permit&& o) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { release(); }
    void release() noexcept;

   private:
    RateLimiter* owner_ = nullptr;
  };

  /// \brief Waits until a request of `service` may start: a free slot, and its service's
  /// spacing since the previous start (and any 429 deferral) has passed. Requests of one
  /// spaced service start in call order. Throws Cancelled on a stop request.
  Task<Permit> acquire(std::string service);

  /// No request of `service` starts before `until` (a 429's Retry-After).
  void defer(const std::string& service, std::chrono::steady_clock::time_point until);

  std::size_t in_flight() const noexcept { return in_flight_; }
  /// False while no limit is set and nothing was deferred: callers may skip acquire().
  bool engaged() const noexcept {
    return deferred_ || limits_.max_in_flight > 0 || !limits_.spacing.empty();
  }
  const RateLimits& limits() const noexcept { return limits_; }

 private:
  struct Service {
    std::chrono::milliseconds spacing{0};
    std::chrono::steady_clock::time_point next_start{};
    bool busy = false;  // a request of this service is between its turn and its start
    std::unique_ptr<WaitQueue> turn;
  };
  Service& service(const std::string& name);
  Task<void> take_slot();
  void give_back_slot() noexcept;

  IoThread& io_;
  RateLimits limits_;
  std::size_t in_flight_ = 0;
  bool deferred_ = false;
  WaitQueue slots_;
  std::map<std::string, Service> services_;
};

}  // namespace asyncfs::http
