#pragma once
// Awaitable wrappers of libuv filesystem requests, shared by every backend that touches local files
// (local, http, firecrest, core transfers).
//
// An awaiter submits its request on the loop thread (every coroutine of a filesystem already
// runs there), libuv's threadpool performs the syscall, and the uv callback resumes the
// coroutine on the loop thread. Nothing here blocks the loop.
//
// Lifetime: the uv request lives in a heap block, not in the coroutine frame. If a frame is
// destroyed while its request is in flight, the awaiter marks the block orphaned and the late
// callback frees it instead of resuming anything. Buffers handed to read/write must outlive
// the request; the runtime never destroys a suspended frame during normal operation, so
// buffers owned by the awaiting coroutine are fine.
//
// Cancellation: a uv fs request cannot be interrupted once the threadpool runs it. Callers
// check `co_await throw_if_stopped(path)` between chunks instead.

#include <uv.h>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncfs/task.hpp"
#include "asyncfs/unique_function.hpp"

namespace asyncfs::uvfs {

/// One uv_fs_t and the coroutine waiting for it. Cleaned up (uv_fs_req_cleanup) on destruction.
struct FsOp {
  uv_fs_t req{};
  std::coroutine_handle<> waiter;
  bool in_flight = false;
  bool orphaned = false;
  FsOp() = default;
  FsOp(const FsOp&) = delete;
  FsOp& operator=(const FsOp&) = delete;
  ~FsOp() { uv_fs_req_cleanup(&req); }
};

/// The uv callback of every FsOp: resumes the waiter, or frees an orphaned op.
void on_fs_done(uv_fs_t* req);

/// A completed request: result code and the request's outputs (statbuf, path, entries).
class FsResult {
 public:
  explicit FsResult(std::unique_ptr<FsOp> op) : op_(std::move(op)) {}
  /// >= 0 on success (a count or a file descriptor), a negative UV_E* code on failure.
  ssize_t result() const noexcept { return op_->req.result; }
  int error() const noexcept { return result() < 0 ? static_cast<int>(result()) : 0; }
  uv_fs_t* req() noexcept { return &op_->req; }
  const uv_stat_t& statbuf() const noexcept { return op_->req.statbuf; }

 private:
  std::unique_ptr<FsOp> op_;
};

/// Starts a request: `start(loop, req, cb)` calls one uv_fs_* function with the callback.
using Starter = UniqueFunction<int(uv_loop_t*, uv_fs_t*, uv_fs_cb)>;

class FsAwaiter {
 public:
  FsAwaiter(uv_loop_t* loop, Starter start)
      : loop_(loop), start_(std::move(start)), op_(new FsOp) {}
  FsAwaiter(const FsAwaiter&) = delete;
  FsAwaiter& operator=(const FsAwaiter&) = delete;
  ~FsAwaiter();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  FsResult await_resume() noexcept {
    return FsResult(std::unique_ptr<FsOp>(std::exchange(op_, nullptr)));
  }

 private:
  uv_loop_t* loop_;
  Starter start_;
  FsOp* op_;
};

/// `co_await call(loop, starter)`: one uv fs request, the raw result (no throwing).
inline FsAwaiter call(uv_loop_t* loop, Starter start) { return FsAwaiter(loop, std::move(start)); }

// --- uv_queue_work: several syscalls in one threadpool job ----------------------------------

struct WorkOp {
  uv_work_t req{};
  UniqueFunction<void()> fn;
  std::exception_ptr error;
  std::coroutine_handle<> waiter;
  int status = 0;
  bool in_flight = false;
  bool orphaned = false;
};

class WorkAwaiter {
 public:
  WorkAwaiter(uv_loop_t* loop, UniqueFunction<void()> fn);
  WorkAwaiter(const WorkAwaiter&) = delete;
  WorkAwaiter& operator=(const WorkAwaiter&) = delete;
  ~WorkAwaiter();
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  /// Rethrows what the job threw.
  void await_resume();

 private:
  uv_loop_t* loop_;
  WorkOp* op_;
};

/// \brief Runs `fn()` on a libuv threadpool thread and returns its result on the loop thread.
///
/// For compound metadata work (a listing with one stat per entry) that would otherwise cost one
/// threadpool round trip per syscall. `fn` must own everything it touches (capture by value):
/// if the awaiting frame goes away, the job still runs to completion.
template <class F>
Task<std::invoke_result_t<F&>> in_pool(uv_loop_t* loop, F fn) {
  using R = std::invoke_result_t<F&>;
  // Named locals rather than temporaries inside the co_await expression: g++ 12 mishandles
  // non-trivially destructible temporaries there.
  auto slot = std::make_shared<std::optional<R>>();
  UniqueFunction<void()> job = [slot, f = std::move(fn)]() mutable { slot->emplace(f()); };
  WorkAwaiter awaiter(loop, std::move(job));
  co_await awaiter;
  co_return std::move(**slot);
}

// --- typed wrappers: throw asyncfs errors (throw_uv_error) naming `what` ---------------------
// `what` is the path reported in errors; it defaults to the path operated on.

Task<uv_file> open(uv_loop_t* loop, std::string path, int flags, int mode, std::string what = {});
Task<void> close(uv_loop_t* loop, uv_file fd, std::string what);
/// One pread: may return fewer bytes than asked (0 at EOF).
Task<std::size_t> read(uv_loop_t* loop, uv_file fd, char* buf, std::size_t len, std::int64_t offset,
                       std::string what);
/// One pwrite: may write fewer bytes than asked.
Task<std::size_t> write(uv_loop_t* loop, uv_file fd, const char* buf, std::size_t len,
                        std::int64_t offset, std::string what);
Task<uv_stat_t> fstat(uv_loop_t* loop, uv_file fd, std::string what);
Task<uv_stat_t> stat(uv_loop_t* loop, std::string path);
/// nullopt when the path does not exist (ENOENT or ENOTDIR); other errors throw.
Task<std::optional<uv_stat_t>> lstat_if_exists(uv_loop_t* loop, std::string path);
Task<void> mkdir(uv_loop_t* loop, std::string path, int mode);
Task<void> rmdir(uv_loop_t* loop, std::string path);
Task<void> unlink(uv_loop_t* loop, std::string path);
Task<void> rename(uv_loop_t* loop, std::string from, std::string to);
Task<void> fsync(uv_loop_t* loop, uv_file fd, std::string what);

/// \brief A whole (small) local file: a job script, a file for a direct upload. More than
/// `max_bytes` throws TooLarge naming `path`; a file that shrinks while read throws IoError.
Task<std::string> read_file(uv_loop_t* loop, std::string path, std::uint64_t max_bytes);

/// Raw variants for cleanup paths that must not throw: return the uv code (0 on success).
Task<int> close_quietly(uv_loop_t* loop, uv_file fd);
Task<int> unlink_quietly(uv_loop_t* loop, std::string path);

/// Fire-and-forget close and unlink from the loop thread, for destructors that cannot await.
/// `path` may be empty (close only); `fd` may be -1 (unlink only).
void close_and_unlink_detached(uv_loop_t* loop, uv_file fd, std::string path);

}  // namespace asyncfs::uvfs
