#pragma once
// A FIFO of suspended coroutines on one IoThread, woken by notify_one()/notify_all(): the
// building block of single-flight token refresh and of the request-rate limiter.
//
// Loop thread only. A woken waiter resumes from a posted job, never inside notify_*(), so the
// notifier's frame finishes its own step first. A waiter whose coroutine is asked to stop
// leaves the queue and throws Cancelled; notify_one() skips it, so a wake-up is never lost.

#include <coroutine>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <stop_token>

#include "asyncfs/io_thread.hpp"
#include "asyncfs/task.hpp"

namespace asyncfs {

class WaitQueue {
 public:
  explicit WaitQueue(IoThread& io) : io_(io) {}
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  /// Waiters still queued are resumed with Cancelled.
  ~WaitQueue();

  struct Waiter;
  class Awaiter {
   public:
    explicit Awaiter(WaitQueue& q) : q_(q) {}
    bool await_ready() const noexcept { return false; }
    template <detail::HasStopToken P>
    void await_suspend(std::coroutine_handle<P> h) {
      enqueue(h, h.promise().stop_token());
    }
    /// Throws Cancelled when the wait ended by a stop request (or the queue went away).
    void await_resume();

   private:
    void enqueue(std::coroutine_handle<> h, std::stop_token stop);
    WaitQueue& q_;
    std::shared_ptr<Waiter> w_;
  };

  /// `co_await queue.wait()`: suspends until notified.
  Awaiter wait() { return Awaiter(*this); }
  /// Wakes the oldest live waiter; returns false when there was none.
  bool notify_one();
  void notify_all();
  /// Live waiters (tests, diagnostics).
  std::size_t size() const noexcept;

 private:
  IoThread& io_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace asyncfs
