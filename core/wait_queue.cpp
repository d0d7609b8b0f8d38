// WaitQueue (see wait_queue.hpp).

#include "core/wait_queue.hpp"

#include <utility>

#include "asyncfs/errors.hpp"

namespace asyncfs {

struct WaitQueue::Waiter : std::enable_shared_from_this<WaitQueue::Waiter> {
  struct OnStop {
    IoThread* io;
    std::weak_ptr<Waiter> waiter;
    void operator()() const noexcept;
  };
  IoThread* io = nullptr;
  std::coroutine_handle<> handle;
  bool woken = false;  // resumption decided (notify, stop or queue destroyed)
  bool cancelled = false;
  std::optional<std::stop_callback<OnStop>> on_stop;

  /// Loop thread: decides this waiter's outcome once and posts its resumption.
  void wake(bool by_cancel) {
    if (woken) return;
    woken = true;
    cancelled = by_cancel;
    try {
      io->post([self = shared_from_this()] { self->handle.resume(); });
    } catch (...) {
      // The loop is shutting down: it destroys the suspended frame itself.
    }
  }
};

void WaitQueue::Waiter::OnStop::operator()() const noexcept {
  // May run on any thread (a sync() timeout): hop to the loop before touching the waiter.
  try {
    io->post([w = waiter] {
      if (auto s = w.lock()) s->wake(true);
    });
  } catch (...) {
  }
}

WaitQueue::~WaitQueue() {
  for (auto& w : waiters_) w->wake(true);
}

void WaitQueue::Awaiter::enqueue(std::coroutine_handle<> h, std::stop_token stop) {
  w_ = std::make_shared<Waiter>();
  w_->io = &q_.io_;
  w_->handle = h;
  q_.waiters_.push_back(w_);
  if (stop.stop_possible()) w_->on_stop.emplace(std::move(stop), Waiter::OnStop{&q_.io_, w_});
}

void WaitQueue::Awaiter::await_resume() {
  w_->on_stop.reset();
  if (w_->cancelled) throw Cancelled("", "wait cancelled");
}

bool WaitQueue::notify_one() {
  while (!waiters_.empty()) {
    std::shared_ptr<Waiter> w = std::move(waiters_.front());
    waiters_.pop_front();
    if (w->woken) continue;  // cancelled while queued
    w->wake(false);
    return true;
  }
  return false;
}

void WaitQueue::notify_all() {
  while (notify_one()) {
  }
}

std::size_t WaitQueue::size() const noexcept {
  std::size_t n = 0;
  for (const auto& w : waiters_) n += w->woken ? 0 : 1;
  return n;
}

}  // namespace asyncfs
