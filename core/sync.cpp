#include "asyncfs/sync.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <thread>

namespace asyncfs::detail {

bool SyncWaiter::wait(std::optional<Duration> timeout) {
  // Most blocking calls finish within tens of microseconds; spinning that long first saves
  // the futex sleep and wake-up, which dominates a short round trip.
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  while (std::chrono::steady_clock::now() < spin_until) {
    if (done_flag.load(std::memory_order_acquire)) break;
    std::this_thread::yield();
  }
  std::unique_lock lock(mutex);
  if (!timeout || *timeout <= Duration::zero()) {
    cv.wait(lock, [this] { return done; });
    return true;
  }
  return cv.wait_for(lock, *timeout, [this] { return done; });
}

void check_sync_allowed(const IoThread& io) {
  if (io.owner_pid() != getpid()) {
    throw Cancelled("",
                    "this filesystem's IO thread belongs to the parent process; after fork() "
                    "create a new filesystem in the child");
  }
  if (io.in_loop_thread()) {
    throw InvalidArgument("",
                          "blocking call on the IO thread would deadlock; co_await the "
                          "coroutine (the _name form) instead");
  }
  if (!io.running()) throw Cancelled("", "the IO thread is shut down");
}

void throw_sync_timeout(Duration timeout, std::string about) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  throw Timeout(std::move(about), fmt::format("operation timed out after {} ms", ms));
}

SyncWaiter::~SyncWaiter() {
  // Only reached with a keep-alive after a timeout (a caller that waited took it). As its
  // last owner we may be on the filesystem's own IoThread, which cannot join itself: let a
  // thread of its own drop it.
  if (!keepalive || keepalive.use_count() != 1) return;
  try {
    std::thread([k = std::move(keepalive)]() mutable { k.reset(); }).detach();  // NOLINT
  } catch (...) {
    // No thread to be had: dropping it here is all that is left.
  }
}

std::exception_ptr abandoned_error() {
  return std::make_exception_ptr(
      Cancelled("", "the IO thread shut down before the operation finished"));
}

}  // namespace asyncfs::detail
