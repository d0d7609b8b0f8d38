#pragma once
// Awaits `n` tasks that complete synchronously, from one coroutine, driven without any loop.
// With a stack frame per await this overflows the default 8 MiB stack long before 1,000,000;
// Task's design keeps the depth constant. Header-only so a clang build can compile it alone
// (tests/standalone/task_stack_main.cpp).

#include <cstdint>

#include "asyncfs/task.hpp"

namespace asyncfs::testing {

inline Task<int> one() { co_return 1; }

inline Task<void> nothing() { co_return; }

inline Task<std::int64_t> sum_of_ones(std::int64_t n) {
  std::int64_t total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    total += co_await one();
    co_await nothing();
  }
  co_return total;
}

/// Drives `task` to completion on the calling thread; the task must not suspend for real.
template <class T>
T drive_inline(Task<T> task) {
  struct Driver {
    struct promise_type : detail::PromiseBase {
      Driver get_return_object() noexcept {
        return {std::coroutine_handle<promise_type>::from_promise(*this)};
      }
      void return_void() noexcept {}
      void unhandled_exception() { throw; }
    };
    std::coroutine_handle<promise_type> h;
  };
  T result{};
  auto body = [](Task<T> t, T* out) -> Driver { *out = co_await std::move(t); };
  Driver d = body(std::move(task), &result);
  d.h.resume();
  d.h.destroy();
  return result;
}

}  // namespace asyncfs::testing
