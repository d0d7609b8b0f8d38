#pragma once
/// \file sync.hpp
/// \brief sync(): run a Task on an IoThread from any other thread and block for its result.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "asyncfs/errors.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/outcome.hpp"
#include "asyncfs/task.hpp"

namespace asyncfs {

namespace detail {

/// Waiting side of one sync() call; shared with the loop so a late completion never writes
/// into a dead stack frame.
struct SyncWaiter {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;                   // guarded by mutex
  std::atomic<bool> done_flag{false};  // the same, for the lock-free spin before sleeping
  std::stop_source stop;
  /// Taken by the caller with the result; still here only when the caller timed out (see
  /// ~SyncWaiter).
  std::shared_ptr<const void> keepalive;

  SyncWaiter() = default;
  SyncWaiter(const SyncWaiter&) = delete;
  SyncWaiter& operator=(const SyncWaiter&) = delete;
  ~SyncWaiter();

  /// Waits for completion; false on timeout.
  bool wait(std::optional<Duration> timeout);
};

template <class T>
struct SyncState : SyncWaiter {
  Outcome<T> result;
  /// First completion wins (a root abandoned at shutdown may still finish later).
  void complete(Outcome<T> out) {
    std::lock_guard lock(mutex);
    if (done) return;
    result = std::move(out);
    // The keep-alive stays: the waiting caller releases it on its own thread (see sync()).
    done = true;
    done_flag.store(true, std::memory_order_release);
    cv.notify_all();
  }
};

/// Throws when sync() on `io` would deadlock or can never complete.
void check_sync_allowed(const IoThread& io);
[[noreturn]] void throw_sync_timeout(Duration timeout, std::string about);
std::exception_ptr abandoned_error();

/// The job sync() posts. If the loop drops it without running it (shutdown), the waiter is
/// released with an error instead of waiting forever.
template <class T>
struct SyncJob {
  std::shared_ptr<SyncState<T>> state;
  IoThread* io;
  Task<T> task;

  SyncJob(std::shared_ptr<SyncState<T>> s, IoThread* i, Task<T> t)
      : state(std::move(s)), io(i), task(std::move(t)) {}
  SyncJob(SyncJob&&) noexcept = default;
  SyncJob& operator=(SyncJob&&) = delete;
  ~SyncJob() {
    if (state) state->complete(Outcome<T>(abandoned_error()));
  }
  void operator()() {
    auto st = std::move(state);
    auto token = st->stop.get_token();
    io->spawn(
        std::move(task), [st](Outcome<T> out) { st->complete(std::move(out)); }, std::move(token),
        [st] { st->complete(Outcome<T>(abandoned_error())); });
  }
};

}  // namespace detail

/// \brief Runs `task` on `io` and blocks the calling thread until it finishes.
///
/// \param timeout on expiry the task is asked to stop and Timeout is thrown at once, without
///        waiting for the task to wind down. nullopt or zero waits forever.
/// \param keepalive kept alive until the task finishes, even after a timeout (the filesystem).
/// \param about the path or URL the task works on, named by the Timeout (Error::path()).
/// \throws InvalidArgument when called on the loop thread (it would deadlock: co_await instead),
///         Cancelled when `io` is shut down or belongs to the parent of a fork()ed process,
///         Timeout, or whatever the task throws.
template <class T>
T sync(IoThread& io, Task<T> task, std::optional<Duration> timeout = std::nullopt,
       std::shared_ptr<const void> keepalive = nullptr, std::string about = {}) {
  detail::check_sync_allowed(io);
  auto state = std::make_shared<detail::SyncState<T>>();
  state->keepalive = std::move(keepalive);
  io.post(detail::SyncJob<T>(state, &io, std::move(task)));
  if (!state->wait(timeout)) {
    state->stop.request_stop();
    detail::throw_sync_timeout(*timeout, std::move(about));
  }
  // Taken out under the lock so this thread alone owns the value or exception from here on.
  // The keep-alive too: released here, the last reference to a filesystem (and so maybe to
  // its own IoThread) never drops on the loop thread behind the caller's back.
  Outcome<T> out;
  std::shared_ptr<const void> keep;
  {
    std::lock_guard lock(state->mutex);
    out = std::move(state->result);
    keep = std::move(state->keepalive);
  }
  if constexpr (std::is_void_v<T>) {
    out.value();
  } else {
    return std::move(out).value();
  }
}

}  // namespace asyncfs
