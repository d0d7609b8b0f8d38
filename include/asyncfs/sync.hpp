#pragma once
/// \file sync.hpp
/// \brief sync(): run a Task on an IoThread from any other thread and block for its result.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>

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
  bool done = false;
  std::stop_source stop;
  std::shared_ptr<const void> keepalive;

  void finish() {
    std::lock_guard lock(mutex);
    done = true;
    cv.notify_all();
  }
  /// Waits for finish(); false on timeout.
  bool wait(std::optional<Duration> timeout);
};

template <class T>
struct SyncState : SyncWaiter {
  Outcome<T> result;
};

/// Throws when sync() on `io` would deadlock or can never complete.
void check_sync_allowed(const IoThread& io);
[[noreturn]] void throw_sync_timeout(Duration timeout);
std::exception_ptr abandoned_error();

}  // namespace detail

/// \brief Runs `task` on `io` and blocks the calling thread until it finishes.
///
/// \param timeout on expiry the task is asked to stop and Timeout is thrown at once, without
///        waiting for the task to wind down. nullopt or zero waits forever.
/// \param keepalive kept alive until the task finishes, even after a timeout (the filesystem).
/// \throws InvalidArgument when called on the loop thread (it would deadlock: co_await instead),
///         Cancelled when `io` is shut down or belongs to the parent of a fork()ed process,
///         Timeout, or whatever the task throws.
template <class T>
T sync(IoThread& io, Task<T> task, std::optional<Duration> timeout = std::nullopt,
       std::shared_ptr<const void> keepalive = nullptr) {
  detail::check_sync_allowed(io);
  auto state = std::make_shared<detail::SyncState<T>>();
  state->keepalive = std::move(keepalive);
  io.post([state, io_ptr = &io, task = std::move(task)]() mutable {
    io_ptr->spawn(
        std::move(task),
        [state](Outcome<T> out) {
          state->result = std::move(out);
          state->keepalive.reset();
          state->finish();
        },
        state->stop.get_token(),
        [state] {
          state->result = Outcome<T>(detail::abandoned_error());
          state->finish();
        });
  });
  if (!state->wait(timeout)) {
    state->stop.request_stop();
    detail::throw_sync_timeout(*timeout);
  }
  if constexpr (std::is_void_v<T>) {
    state->result.value();
  } else {
    return std::move(state->result).value();
  }
}

}  // namespace asyncfs
