#pragma once
/// \file io_thread.hpp
/// \brief IoThread: one libuv loop, the thread that runs it, and a thread-safe job queue.

#include <sys/types.h>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "asyncfs/outcome.hpp"
#include "asyncfs/task.hpp"
#include "asyncfs/unique_function.hpp"

struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;  // NOLINT: libuv's own spelling

namespace asyncfs {

using Duration = std::chrono::steady_clock::duration;

/// \brief Owns (or adopts) a libuv loop and runs every coroutine of the filesystems bound to it.
///
/// Threading rules (docs/threading.md): loop state, uv handles and coroutine frames are touched
/// only on the loop thread. Other threads enter through post(), sync() or a stop request.
class IoThread {
 public:
  using Job = UniqueFunction<void()>;

  /// Starts a private loop on a new thread named `name`.
  explicit IoThread(std::string name = "asyncfs-io");

  struct AdoptTag {};
  /// Bring your own loop: binds to `loop`, which the caller runs (uv_run) on its own thread.
  /// Must be called on that thread; shutdown() must run on that thread, outside uv_run, before
  /// the loop is closed (after it, this object may outlive the loop and be dropped anywhere).
  /// shutdown() only closes this object's handles; it never stops or closes the caller's loop.
  IoThread(AdoptTag, uv_loop_t* loop);

  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;
  /// Calls shutdown().
  ~IoThread();

  /// Runs `job` on the loop thread soon. Safe from any thread, also from the loop thread.
  /// \throws Error (kCancelled) once shutdown has begun.
  void post(Job job);

  /// True on the thread that runs the loop.
  bool in_loop_thread() const noexcept;
  /// True until shutdown() begins.
  bool running() const noexcept;
  /// Process that created this IoThread; a fork()ed child must not use its parent's loop.
  pid_t owner_pid() const noexcept { return pid_; }
  /// The loop. Use only on the loop thread.
  uv_loop_t* loop() noexcept { return loop_; }

  /// \brief Starts `task` as a root on the loop thread; `done(Outcome<T>)` runs there when it ends.
  ///
  /// Must be called on the loop thread (post a job from elsewhere). The root is tracked:
  /// shutdown() requests stop on it and waits for it. `stop` is the root's stop token.
  /// `abandon` runs instead of `done` if shutdown() gives up on the root after its grace time.
  template <class T, class Done>
  void spawn(Task<T> task, Done done, std::stop_token stop = {}, Job abandon = {});

  /// \brief Stops accepting work, cancels every root task, waits up to `grace` for them, then
  /// closes the loop and joins the thread. Idempotent. Must not be called on the loop thread
  /// of an owned loop (it would join itself); for an adopted loop, call it on the loop thread.
  void shutdown(Duration grace = std::chrono::seconds(10));

  /// Number of root tasks currently running (for tests and diagnostics).
  std::size_t active_roots() const noexcept;

  /// \brief Base of per-loop services (the HTTP engine).
  class Service {
   public:
    virtual ~Service() = default;
  };
  /// \brief The loop's instance of service T, created on first use: `T(IoThread&)`.
  ///
  /// Loop thread only. Services are destroyed on the loop thread during shutdown, after every
  /// root task has ended (or was abandoned) and before the loop's handles are closed, in the
  /// reverse order of creation; they may still close handles of their own then.
  template <class T>
  T& service();

  // --- internal, used by spawn() ---
  struct ForwardStop {
    std::stop_source* target;
    void operator()() const noexcept { target->request_stop(); }
  };
  struct RootNode {
    RootNode* prev = nullptr;
    RootNode* next = nullptr;
    std::stop_source stop;
    std::optional<std::stop_callback<ForwardStop>> forward;
    Job abandon;            ///< completes the waiter if the loop dies first
    void* frame = nullptr;  ///< the root coroutine's frame (parked if abandoned)
  };
  void link_root(RootNode* node) noexcept;
  void unlink_root(RootNode* node) noexcept;
  Service* find_service(const void* key) noexcept;
  Service& add_service(const void* key, std::unique_ptr<Service> service);

 private:
  struct Impl;
  void start_owned(std::string name);
  void init_handles();
  void drain_jobs();
  void begin_shutdown_on_loop();
  static void on_async(void* self);

  std::unique_ptr<Impl> impl_;
  uv_loop_t* loop_ = nullptr;
  bool owns_loop_ = true;
  pid_t pid_ = 0;
};

/// \brief The process-wide IoThread, created on first use (fsspec's get_loop()).
///
/// After fork() the child gets a fresh one on first use; the parent's is never touched there.
std::shared_ptr<IoThread> default_io_thread();

/// \brief Shuts the default IoThread down now (it is re-created on next use).
void shutdown_default_io_thread();

/// \brief Awaitable timer on the current IoThread: `co_await sleep_for(io, 10ms)`.
/// Throws Cancelled when the awaiting coroutine is asked to stop.
class SleepAwaiter {
 public:
  SleepAwaiter(IoThread& io, Duration d) : io_(io), d_(d) {}
  bool await_ready() const noexcept { return d_ <= Duration::zero(); }
  template <detail::HasStopToken P>
  void await_suspend(std::coroutine_handle<P> h) {
    start(h, h.promise().stop_token());
  }
  void await_resume();

 private:
  void start(std::coroutine_handle<> h, std::stop_token stop);
  IoThread& io_;
  Duration d_;
  std::shared_ptr<struct SleepState> state_;
};
inline SleepAwaiter sleep_for(IoThread& io, Duration d) { return SleepAwaiter(io, d); }

// ----------------------------------------------------------------------------------------------
namespace detail {

/// Fire-and-forget coroutine that owns itself; used only for roots tracked by IoThread.
struct RootCoro {
  struct promise_type : PromiseBase {
    RootCoro get_return_object() noexcept {
      return RootCoro{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // the body catches everything
  };
  std::coroutine_handle<promise_type> h;
};

template <class T, class Done>
RootCoro run_root(IoThread* io, IoThread::RootNode* node, Task<T> task, Done done) {
  Outcome<T> out;
  {
    // The task's frame (and any exception it still references) is destroyed at the end of
    // this scope, before done() hands the outcome to another thread: the loop thread then
    // holds no reference the receiver could race with.
    Task<T> t = std::move(task);
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(t);
        out = Outcome<void>::success();
      } else {
        out = Outcome<T>(co_await std::move(t));
      }
    } catch (...) {
      out = Outcome<T>(std::current_exception());
    }
  }
  io->unlink_root(node);
  delete node;
  done(std::move(out));
}

}  // namespace detail

template <class T>
T& IoThread::service() {
  static const char key = 0;  // one address per service type
  if (Service* s = find_service(&key)) return static_cast<T&>(*s);
  return static_cast<T&>(add_service(&key, std::make_unique<T>(*this)));
}

template <class T, class Done>
void IoThread::spawn(Task<T> task, Done done, std::stop_token stop, Job abandon) {
  auto* node = new RootNode();
  node->abandon = std::move(abandon);
  link_root(node);
  // The root runs under its own stop source so shutdown() can cancel it; an outside token
  // (sync()'s timeout) is forwarded into that source.
  if (stop.stop_possible()) node->forward.emplace(std::move(stop), ForwardStop{&node->stop});
  auto coro = detail::run_root<T, Done>(this, node, std::move(task), std::move(done));
  coro.h.promise().set_stop_token(node->stop.get_token());
  node->frame = coro.h.address();
  coro.h.resume();
}

}  // namespace asyncfs
