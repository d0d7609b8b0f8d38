// RateLimiter (see rate_limiter.hpp).
//
// Spacing is measured between actual starts: a request takes its service's turn, sleeps until
// the service's next start time, takes an in-flight slot, and only then stamps the next start.
// Stamping before the slot wait would let a request delayed by the cap start right after a
// later one.

#include "core/http/rate_limiter.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "core/log.hpp"

namespace asyncfs::http {

using Clock = std::chrono::steady_clock;

RateLimiter::RateLimiter(IoThread& io, RateLimits limits)
    : io_(io), limits_(std::move(limits)), slots_(io) {}

RateLimiter::~RateLimiter() = default;

RateLimiter::Permit& RateLimiter::Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::exchange(o.owner_, nullptr);
  }
  return *this;
}

void RateLimiter::Permit::release() noexcept {
  if (auto* owner = std::exchange(owner_, nullptr)) owner->give_back_slot();
}

RateLimiter::Service& RateLimiter::service(const std::string& name) {
  auto it = services_.find(name);
  if (it != services_.end()) return it->second;
  Service s;
  auto sp = limits_.spacing.find(name);
  if (sp == limits_.spacing.end()) sp = limits_.spacing.find("*");
  if (sp != limits_.spacing.end()) s.spacing = sp->second;
  s.turn = std::make_unique<WaitQueue>(io_);
  return services_.emplace(name, std::move(s)).first->second;
}

Task<void> RateLimiter::take_slot() {
  if (limits_.max_in_flight == 0 || in_flight_ < limits_.max_in_flight) {
    ++in_flight_;
    co_return;
  }
  // give_back_slot() hands its slot straight to the woken waiter (in_flight_ unchanged).
  co_await slots_.wait();
}

void RateLimiter::give_back_slot() noexcept {
  if (slots_.notify_one()) return;
  if (in_flight_ > 0) --in_flight_;
}

Task<RateLimiter::Permit> RateLimiter::acquire(std::string name) {
  Service* s = &service(name);
  const bool spaced = s->spacing.count() > 0;
  if (!spaced && s->next_start <= Clock::now()) {
    co_await take_slot();
    co_return Permit(this);
  }
  // One request of the service at a time through the turn: starts keep their call order.
  while (s->busy) {
    co_await s->turn->wait();
    s = &service(name);
  }
  s->busy = true;
  Permit permit;
  try {
    for (;;) {
      const auto now = Clock::now();
      if (now >= s->next_start) break;
      if (log::enabled(LogLevel::kInfo)) {
        log::info(
            "http", "waiting {} ms for the next '{}' request ({})",
            std::chrono::duration_cast<std::chrono::milliseconds>(s->next_start - now).count(),
            name, spaced ? "time_between_calls" : "the server asked to slow down");
      }
      co_await sleep_for(io_, s->next_start - now);  // next_start may move (defer) meanwhile
    }
    co_await take_slot();
    permit = Permit(this);
    if (spaced) s->next_start = std::max(s->next_start, Clock::now() + s->spacing);
  } catch (...) {
    s->busy = false;
    s->turn->notify_one();
    throw;
  }
  s->busy = false;
  s->turn->notify_one();
  co_return permit;
}

void RateLimiter::defer(const std::string& name, Clock::time_point until) {
  deferred_ = true;
  Service& s = service(name);
  s.next_start = std::max(s.next_start, until);
}

}  // namespace asyncfs::http
