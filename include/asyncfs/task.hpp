#pragma once
/// \file task.hpp
/// \brief Task<T>: a lazy, move-only coroutine with exception and stop-token propagation.
///
/// A Task does nothing until it is awaited. Awaiting it runs the child inline on the awaiting
/// thread; when the child finishes without suspending, the parent continues without any
/// resumption through the child's final_suspend. That keeps the stack flat for any number of
/// synchronously completing awaits, even in Debug builds where g++ and clang do not turn
/// symmetric transfer into a tail call (see docs/runtime.md). The stop token of the awaiting
/// coroutine is handed to the child, so cancelling a root cancels the whole tree.

#include <atomic>
#include <coroutine>
#include <exception>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace asyncfs {

template <class T = void>
class Task;

namespace detail {

/// State shared by every promise in the library; leaf awaitables read stop_token() from it.
class PromiseBase {
 public:
  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      PromiseBase& p = h.promise();
      // The flag is set by whichever side gets there second: if the parent already went to
      // sleep we resume it, otherwise the parent's await_suspend sees the flag and goes on.
      if (p.done_or_waiting_.exchange(true, std::memory_order_acq_rel)) return p.continuation_;
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }

  const std::stop_token& stop_token() const noexcept { return stop_; }
  void set_stop_token(std::stop_token token) noexcept { stop_ = std::move(token); }

  /// Starts this coroutine for `parent`; returns true when the parent must stay suspended.
  bool start_for(std::coroutine_handle<> self, std::coroutine_handle<> parent) {
    continuation_ = parent;
    self.resume();
    return !done_or_waiting_.exchange(true, std::memory_order_acq_rel);
  }

 private:
  std::coroutine_handle<> continuation_;
  std::stop_token stop_;
  std::atomic<bool> done_or_waiting_{false};
};

template <class T>
class Promise final : public PromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
  template <class U>
  void return_value(U&& value) {
    result_.template emplace<1>(std::forward<U>(value));
  }
  T take() {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::move(std::get<1>(result_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <>
class Promise<void> final : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void return_void() noexcept {}
  void take() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

/// Promise types that carry a stop token (every coroutine type of this library).
template <class P>
concept HasStopToken = std::is_base_of_v<PromiseBase, P>;

}  // namespace detail

/// \brief Lazy coroutine returning T. Move-only; destroying it destroys the frame.
///
/// Coroutines returning Task must take their parameters by value: a lazy coroutine outlives
/// the full-expression that created it, so references would dangle.
template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(Handle h) noexcept : h_(h) {}
  Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(h_); }

  class Awaiter {
   public:
    explicit Awaiter(Handle h) noexcept : h_(h) {}
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
      if constexpr (detail::HasStopToken<P>) {
        h_.promise().set_stop_token(parent.promise().stop_token());
      }
      return h_.promise().start_for(h_, parent);
    }
    T await_resume() { return h_.promise().take(); }

   private:
    Handle h_;
  };

  /// Awaiting consumes the task: `co_await std::move(t)` or `co_await make_task()`.
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }

 private:
  Handle h_;
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}
}  // namespace detail

/// \brief Awaitable giving the current coroutine's stop token: `co_await current_stop_token()`.
struct CurrentStopToken {
  std::stop_token token;
  bool await_ready() const noexcept { return false; }
  template <detail::HasStopToken P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    token = h.promise().stop_token();
    return false;
  }
  std::stop_token await_resume() noexcept { return std::move(token); }
};
inline CurrentStopToken current_stop_token() noexcept { return {}; }

/// \brief `co_await throw_if_stopped("what")` throws Cancelled when the current coroutine was
/// asked to stop. Loops over many chunks call it between chunks.
struct StopCheck {
  std::string what;
  bool stopped = false;
  bool await_ready() const noexcept { return false; }
  template <detail::HasStopToken P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    stopped = h.promise().stop_token().stop_requested();
    return false;
  }
  void await_resume() const;
};
inline StopCheck throw_if_stopped(std::string what) { return StopCheck{std::move(what)}; }

}  // namespace asyncfs
