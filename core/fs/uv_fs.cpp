#include "core/fs/uv_fs.hpp"

#include <uv.h>

#include <string>
#include <utility>

#include "asyncfs/errors.hpp"

namespace asyncfs::uvfs {

void on_fs_done(uv_fs_t* req) {
  auto* op = static_cast<FsOp*>(req->data);
  op->in_flight = false;
  if (op->orphaned) {
    delete op;
    return;
  }
  // The resumed coroutine takes ownership of `op` in await_resume; do not touch it after.
  op->waiter.resume();
}

FsAwaiter::~FsAwaiter() {
  if (!op_) return;
  if (op_->in_flight) {
    op_->orphaned = true;  // the callback frees it
  } else {
    delete op_;
  }
}

bool FsAwaiter::await_suspend(std::coroutine_handle<> h) {
  op_->waiter = h;
  op_->req.data = op_;
  const int rc = start_(loop_, &op_->req, &on_fs_done);
  if (rc < 0) {
    // Rejected before submission (bad arguments, no memory): no callback will come.
    op_->req.result = rc;
    return false;
  }
  op_->in_flight = true;
  return true;
}

// --- queue work -------------------------------------------------------------------------------

namespace {

void work_run(uv_work_t* req) {
  auto* op = static_cast<WorkOp*>(req->data);
  try {
    op->fn();
  } catch (...) {
    op->error = std::current_exception();
  }
}

void work_done(uv_work_t* req, int status) {
  auto* op = static_cast<WorkOp*>(req->data);
  op->in_flight = false;
  op->status = status;
  if (op->orphaned) {
    delete op;
    return;
  }
  op->waiter.resume();
}

}  // namespace

WorkAwaiter::WorkAwaiter(uv_loop_t* loop, UniqueFunction<void()> fn)
    : loop_(loop), op_(new WorkOp) {
  op_->fn = std::move(fn);
}

WorkAwaiter::~WorkAwaiter() {
  if (op_->in_flight) {
    op_->orphaned = true;
  } else {
    delete op_;
  }
}

bool WorkAwaiter::await_suspend(std::coroutine_handle<> h) {
  op_->waiter = h;
  op_->req.data = op_;
  const int rc = uv_queue_work(loop_, &op_->req, &work_run, &work_done);
  if (rc < 0) {
    op_->status = rc;
    return false;
  }
  op_->in_flight = true;
  return true;
}

void WorkAwaiter::await_resume() {
  if (op_->status < 0) throw_uv_error(op_->status, "", "threadpool job");
  if (op_->error) std::rethrow_exception(op_->error);
}

// --- typed wrappers -----------------------------------------------------------------------------

Task<uv_file> open(uv_loop_t* loop, std::string path, int flags, int mode, std::string what) {
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_open(l, req, path.c_str(), flags, mode, cb);
  });
  int e = r.error();
  // Opening an existing name below a file finds nothing: NotFound, like a lookup.
  if (e == UV_ENOTDIR && !(flags & UV_FS_O_CREAT)) e = UV_ENOENT;
  if (e) throw_uv_error(e, what.empty() ? path : what, "open");
  co_return static_cast<uv_file>(r.result());
}

Task<void> close(uv_loop_t* loop, uv_file fd, std::string what) {
  auto r = co_await call(
      loop, [fd](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) { return uv_fs_close(l, req, fd, cb); });
  if (r.error()) throw_uv_error(r.error(), what, "close");
}

Task<std::size_t> read(uv_loop_t* loop, uv_file fd, char* buf, std::size_t len, std::int64_t offset,
                       std::string what) {
  uv_buf_t b = uv_buf_init(buf, static_cast<unsigned int>(std::min<std::size_t>(len, 1u << 30)));
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_read(l, req, fd, &b, 1, offset, cb);
  });
  if (r.error()) throw_uv_error(r.error(), what, "read");
  co_return static_cast<std::size_t>(r.result());
}

Task<std::size_t> write(uv_loop_t* loop, uv_file fd, const char* buf, std::size_t len,
                        std::int64_t offset, std::string what) {
  // uv_buf_t is not const-correct; libuv only reads the buffer of a write.
  uv_buf_t b = uv_buf_init(const_cast<char*>(buf),
                           static_cast<unsigned int>(std::min<std::size_t>(len, 1u << 30)));
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_write(l, req, fd, &b, 1, offset, cb);
  });
  if (r.error()) throw_uv_error(r.error(), what, "write");
  co_return static_cast<std::size_t>(r.result());
}

Task<uv_stat_t> fstat(uv_loop_t* loop, uv_file fd, std::string what) {
  auto r = co_await call(
      loop, [fd](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) { return uv_fs_fstat(l, req, fd, cb); });
  if (r.error()) throw_uv_error(r.error(), what, "stat");
  co_return r.statbuf();
}

Task<uv_stat_t> stat(uv_loop_t* loop, std::string path) {
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_stat(l, req, path.c_str(), cb);
  });
  const int e = r.error();
  if (e) throw_uv_error(e == UV_ENOTDIR ? UV_ENOENT : e, path, "stat");
  co_return r.statbuf();
}

Task<std::optional<uv_stat_t>> lstat_if_exists(uv_loop_t* loop, std::string path) {
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_lstat(l, req, path.c_str(), cb);
  });
  if (r.error() == UV_ENOENT || r.error() == UV_ENOTDIR) co_return std::nullopt;
  if (r.error()) throw_uv_error(r.error(), path, "stat");
  co_return r.statbuf();
}

Task<void> mkdir(uv_loop_t* loop, std::string path, int mode) {
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_mkdir(l, req, path.c_str(), mode, cb);
  });
  if (r.error()) throw_uv_error(r.error(), path, "mkdir");
}

Task<void> rmdir(uv_loop_t* loop, std::string path) {
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_rmdir(l, req, path.c_str(), cb);
  });
  if (r.error()) throw_uv_error(r.error(), path, "rmdir");
}

Task<void> unlink(uv_loop_t* loop, std::string path) {
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_unlink(l, req, path.c_str(), cb);
  });
  if (r.error()) throw_uv_error(r.error(), path, "unlink");
}

Task<void> rename(uv_loop_t* loop, std::string from, std::string to) {
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_rename(l, req, from.c_str(), to.c_str(), cb);
  });
  // Name the destination for errors about it (EISDIR, ENOTEMPTY), the source otherwise.
  const int e = r.error();
  if (e == UV_EISDIR || e == UV_ENOTEMPTY || e == UV_EEXIST || e == UV_ENOTDIR) {
    throw_uv_error(e, to, "rename");
  }
  if (e) throw_uv_error(e, from, "rename");
}

Task<void> fsync(uv_loop_t* loop, uv_file fd, std::string what) {
  auto r = co_await call(
      loop, [fd](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) { return uv_fs_fsync(l, req, fd, cb); });
  if (r.error()) throw_uv_error(r.error(), what, "fsync");
}

Task<int> close_quietly(uv_loop_t* loop, uv_file fd) {
  auto r = co_await call(
      loop, [fd](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) { return uv_fs_close(l, req, fd, cb); });
  co_return r.error();
}

Task<int> unlink_quietly(uv_loop_t* loop, std::string path) {
  auto r = co_await call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_unlink(l, req, path.c_str(), cb);
  });
  co_return r.error();
}

namespace {

/// Self-owning close-then-unlink chain driven by uv callbacks.
struct DetachedCleanup {
  uv_fs_t req{};
  std::string path;
};

void detached_unlinked(uv_fs_t* req) {
  auto* c = static_cast<DetachedCleanup*>(req->data);
  uv_fs_req_cleanup(req);
  delete c;
}

void detached_closed(uv_fs_t* req) {
  auto* c = static_cast<DetachedCleanup*>(req->data);
  uv_fs_req_cleanup(req);
  if (c->path.empty()) {
    delete c;
    return;
  }
  uv_loop_t* loop = req->loop;
  c->req = uv_fs_t{};
  c->req.data = c;
  if (uv_fs_unlink(loop, &c->req, c->path.c_str(), &detached_unlinked) < 0) delete c;
}

}  // namespace

void close_and_unlink_detached(uv_loop_t* loop, uv_file fd, std::string path) {
  auto* c = new DetachedCleanup;
  c->path = std::move(path);
  c->req.data = c;
  if (fd >= 0) {
    if (uv_fs_close(loop, &c->req, fd, &detached_closed) < 0) delete c;
  } else if (!c->path.empty()) {
    if (uv_fs_unlink(loop, &c->req, c->path.c_str(), &detached_unlinked) < 0) delete c;
  } else {
    delete c;
  }
}

Task<std::string> read_file(uv_loop_t* loop, std::string path, std::uint64_t max_bytes) {
  uv_file fd = co_await open(loop, path, UV_FS_O_RDONLY, 0);
  std::string out;
  std::exception_ptr err;
  try {
    const uv_stat_t st = co_await fstat(loop, fd, path);
    if (st.st_size > max_bytes) {
      throw TooLarge(path, "larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.resize(st.st_size);
    std::size_t done = 0;
    while (done < out.size()) {
      const std::size_t n = co_await read(loop, fd, out.data() + done, out.size() - done,
                                          static_cast<std::int64_t>(done), path);
      if (n == 0) throw IoError(path, "the file shrank while it was read");
      done += n;
    }
  } catch (...) {
    err = std::current_exception();
  }
  co_await close_quietly(loop, fd);
  if (err) std::rethrow_exception(err);
  co_return out;
}

}  // namespace asyncfs::uvfs
