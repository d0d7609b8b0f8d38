#pragma once
/// \file gather.hpp
/// \brief gather(): run many tasks with at most `batch_size` in flight (a sliding window).
///
/// K = min(batch_size, n) workers each pull the next index, await its task and store the
/// outcome at that index, so results keep input order, a slow item never holds up the rest,
/// and only K task frames exist at any time (tasks are created lazily from the index).

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <vector>

#include "asyncfs/callback.hpp"
#include "asyncfs/outcome.hpp"
#include "asyncfs/task.hpp"

namespace asyncfs {

enum class GatherPolicy {
  kCollect,             ///< run everything; each item's value or exception in its slot
  kCancelOnFirstError,  ///< on the first failure stop starting items, cancel the running ones,
                        ///< then rethrow that failure
};

struct GatherOptions {
  /// Maximum number of tasks in flight; -1 = unbounded. Resolve user input with
  /// resolve_batch_size() (config.hpp) first; 0 or < -1 here throws InvalidArgument.
  int batch_size = -1;
  Callback* progress = nullptr;  ///< relative_update(1) per finished item, success or failure
  GatherPolicy policy = GatherPolicy::kCollect;
};

namespace detail {

void validate_window(int batch_size);

template <class State>
struct GatherWorker {
  struct promise_type : PromiseBase {
    GatherWorker get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    struct Final {
      State* state;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<>) noexcept {
        if (--state->remaining == 0) return state->waiter;
        return std::noop_coroutine();
      }
      void await_resume() const noexcept {}
    };
    Final final_suspend() noexcept { return {state}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // the body catches everything
    State* state = nullptr;
  };
  std::coroutine_handle<promise_type> h;
};

template <class T, class Make, class Sink>
struct GatherState {
  GatherState(std::size_t n_in, Make make_in, Sink sink_in, GatherOptions opts_in)
      : n(n_in), make(std::move(make_in)), sink(std::move(sink_in)), opts(opts_in) {}
  std::size_t n;
  Make make;
  Sink sink;
  GatherOptions opts;
  std::size_t next = 0;
  std::size_t remaining = 0;  // workers still running + 1 for the gather itself
  std::coroutine_handle<> waiter;
  std::stop_source local;
  std::exception_ptr first_error;
};

template <class State>
struct GatherJoin {
  State* state;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    state->waiter = h;
    return --state->remaining != 0;
  }
  void await_resume() const noexcept {}
};

template <class T, class State>
GatherWorker<State> gather_worker(State* st) {
  while (!st->local.stop_requested()) {
    const std::size_t i = st->next++;
    if (i >= st->n) break;
    Outcome<T> out;
    try {
      if constexpr (std::is_void_v<T>) {
        co_await st->make(i);
        out = Outcome<void>::success();
      } else {
        out = Outcome<T>(co_await st->make(i));
      }
    } catch (...) {
      out = Outcome<T>(std::current_exception());
    }
    if (out.has_error() && st->opts.policy == GatherPolicy::kCancelOnFirstError &&
        !st->first_error) {
      st->first_error = out.error();
      st->local.request_stop();
    }
    st->sink(i, std::move(out));
    if (st->opts.progress) st->opts.progress->relative_update(1);
  }
}

struct ForwardStopTo {
  std::stop_source* target;
  void operator()() const noexcept { target->request_stop(); }
};

}  // namespace detail

/// \brief Runs make(i) for i in [0, n) through a window; sink(i, Outcome<T>&&) runs as each
/// item finishes (in completion order). Nothing is kept after the sink returns, so memory is
/// bounded by the window. With kCancelOnFirstError the first failure is rethrown at the end.
template <class T, class Make, class Sink>
Task<void> gather_each(std::size_t n, Make make, Sink sink, GatherOptions opts) {
  detail::validate_window(opts.batch_size);
  using State = detail::GatherState<T, Make, Sink>;
  State st(n, std::move(make), std::move(sink), opts);
  std::stop_token parent = co_await current_stop_token();
  std::stop_callback forward(parent, detail::ForwardStopTo{&st.local});
  const std::size_t k = opts.batch_size < 0 ? n : std::min<std::size_t>(n, opts.batch_size);
  std::vector<std::coroutine_handle<typename detail::GatherWorker<State>::promise_type>> workers;
  workers.reserve(k);
  st.remaining = k + 1;
  for (std::size_t w = 0; w < k; ++w) {
    auto worker = detail::gather_worker<T, State>(&st);
    worker.h.promise().state = &st;
    worker.h.promise().set_stop_token(st.local.get_token());
    workers.push_back(worker.h);
    worker.h.resume();
  }
  co_await detail::GatherJoin<State>{&st};
  for (auto h : workers) h.destroy();
  if (st.first_error) std::rethrow_exception(st.first_error);
}

/// \brief Runs make(i) for i in [0, n) through a window; outcomes in input order.
template <class T, class Make>
Task<std::vector<Outcome<T>>> gather(std::size_t n, Make make, GatherOptions opts) {
  std::vector<Outcome<T>> results(n);
  co_await gather_each<T>(
      n, std::move(make), [&results](std::size_t i, Outcome<T>&& o) { results[i] = std::move(o); },
      opts);
  co_return results;
}

/// \brief Awaits already-created tasks through a window; outcomes in input order.
template <class T>
Task<std::vector<Outcome<T>>> gather(std::vector<Task<T>> tasks, GatherOptions opts) {
  const std::size_t n = tasks.size();
  co_return co_await gather<T>(
      n, [&tasks](std::size_t i) { return std::move(tasks[i]); }, opts);
}

}  // namespace asyncfs
