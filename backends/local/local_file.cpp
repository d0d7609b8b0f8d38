// Native file objects of the local backend.
//
// "rb" reads with positioned reads (uv_fs_read at an offset): seek and tell only move the
// offset, there is no read-ahead buffer (the kernel's page cache already is one).
// "wb", "xb" and "ab" write into a temp file next to the target that close() renames into
// place ("xb" without replacing: AlreadyExists if the target appeared meanwhile). "ab" starts
// from a copy of the existing file. Until close() the target is untouched.
//
// A file destroyed without close() must not leave its temp file behind, but a destructor
// cannot co_await. On the loop thread of a running IoThread it submits a detached
// close+unlink chain of uv requests (never blocking the loop). Anywhere else (the File
// wrapper is usually destroyed on a user thread, or the loop is shutting down and will not run
// callbacks again) it calls close(2) and unlink(2) directly: that thread may block briefly,
// the loop does not.

#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/file.hpp"
#include "backends/local/local_fs.hpp"
#include "core/fs/temp_file.hpp"
#include "core/fs/uv_fs.hpp"

namespace asyncfs::local {
namespace {

class LocalFile final : public AsyncFile {
 public:
  LocalFile(std::shared_ptr<LocalFileSystem> fs, std::string path, std::string mode, uv_file fd,
            std::string temp, std::uint64_t size, std::size_t block_size)
      : AsyncFile(std::move(path), std::move(mode)),
        fs_(std::move(fs)),
        io_(fs_->io_ptr()),
        fd_(fd),
        temp_(std::move(temp)),
        size_(size),
        pos_(readable() ? 0 : size),
        block_size_(std::max<std::size_t>(block_size, 1)) {}

  ~LocalFile() override {
    if (fd_ < 0 && temp_.empty()) return;
    if (io_->in_loop_thread() && io_->running()) {
      uvfs::close_and_unlink_detached(io_->loop(), fd_, temp_);
      return;
    }
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }

  std::optional<std::uint64_t> size() const override { return readable() ? size_ : pos_; }

  Task<Bytes> read(std::int64_t n) override {
    check_open("read");
    check_readable();
    Bytes out;
    if (n >= 0) {
      out.resize(static_cast<std::size_t>(n));
      out.resize(co_await read_into(out.data(), out.size()));
      co_return out;
    }
    // To EOF, whatever st_size said at open time (the file may have grown).
    for (;;) {
      const std::size_t have = out.size();
      out.resize(have + block_size_);
      const std::size_t got = co_await read_into(out.data() + have, block_size_);
      out.resize(have + got);
      if (got < block_size_) break;
    }
    co_return out;
  }

  Task<std::size_t> readinto(std::span<char> buf) override {
    check_open("read");
    check_readable();
    co_return co_await read_into(buf.data(), buf.size());
  }

  std::uint64_t seek(std::int64_t offset, Whence whence) override {
    check_open("seek");
    std::int64_t base = 0;
    if (whence == Whence::kCur) base = static_cast<std::int64_t>(pos_);
    if (whence == Whence::kEnd) base = static_cast<std::int64_t>(readable() ? size_ : pos_);
    const std::int64_t target = base + offset;
    if (target < 0) throw InvalidArgument(path(), "seek to a negative position");
    if (!readable() && static_cast<std::uint64_t>(target) != pos_) {
      throw InvalidArgument(path(), "seek is not supported on a file open for writing");
    }
    pos_ = static_cast<std::uint64_t>(target);
    return pos_;
  }

  std::uint64_t tell() const override { return pos_; }

  Task<std::size_t> write(Bytes data) override {
    check_open("write");
    check_writable();
    // A failed (or cancelled) write poisons the file: close() then discards it rather than
    // commit a file with a hole or a truncated tail under the final name.
    failed_ = true;
    co_await write_all(io_->loop(), fd_, data.data(), data.size(), static_cast<std::int64_t>(pos_),
                       block_size_, path());
    failed_ = false;
    pos_ += data.size();
    co_return data.size();
  }

  Task<void> close() override {
    if (closed_) co_return;
    closed_ = true;
    uv_loop_t* lp = io_->loop();
    if (readable()) {
      co_await uvfs::close_quietly(lp, std::exchange(fd_, -1));
      co_return;
    }
    std::exception_ptr err;
    try {
      if (failed_) throw IoError(path(), "not written: an earlier write to this file failed");
      co_await uvfs::close(lp, std::exchange(fd_, -1), path());
      co_await commit_temp(lp, temp_, path(),
                           mode() == "xb" ? WriteMode::kCreate : WriteMode::kOverwrite);
      temp_.clear();
      co_return;
    } catch (...) {
      err = std::current_exception();
    }
    // A named local, not a temporary in the co_await expression: g++ 12 destroys such
    // temporaries twice.
    TempFile leftover{std::exchange(fd_, -1), std::exchange(temp_, {})};
    co_await discard_temp(lp, std::move(leftover));
    std::rethrow_exception(err);
  }

 private:
  /// Reads at pos_ until `len` bytes or EOF, in block_size pieces with stop checks.
  Task<std::size_t> read_into(char* buf, std::size_t len) {
    std::size_t done = 0;
    while (done < len) {
      const std::size_t want = std::min(block_size_, len - done);
      const std::size_t got = co_await uvfs::read(io_->loop(), fd_, buf + done, want,
                                                  static_cast<std::int64_t>(pos_), path());
      if (got == 0) break;
      done += got;
      pos_ += got;
      if (done < len) co_await throw_if_stopped(path());
    }
    co_return done;
  }

  std::shared_ptr<LocalFileSystem> fs_;
  std::shared_ptr<IoThread> io_;
  uv_file fd_;
  std::string temp_;
  std::uint64_t size_;
  std::uint64_t pos_;
  std::size_t block_size_;
  bool failed_ = false;
};

/// "ab": copies the existing target (if any) into the temp file; returns the bytes copied.
Task<std::uint64_t> copy_existing(uv_loop_t* lp, std::string path, uv_file out, std::size_t chunk) {
  auto r = co_await uvfs::call(lp, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_open(l, req, path.c_str(), UV_FS_O_RDONLY, 0, cb);
  });
  if (r.error() == UV_ENOENT) co_return 0;
  if (r.error()) throw_uv_error(r.error(), path, "open");
  const auto in = static_cast<uv_file>(r.result());
  std::uint64_t offset = 0;
  std::exception_ptr err;
  try {
    const uv_stat_t st = co_await uvfs::fstat(lp, in, path);
    if (S_ISDIR(st.st_mode)) throw IsADirectory(path, "is a directory");
    std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(chunk, st.st_size + 1)), '\0');
    for (;;) {
      const std::size_t n = co_await uvfs::read(lp, in, buf.data(), buf.size(),
                                                static_cast<std::int64_t>(offset), path);
      if (n == 0) break;
      co_await write_all(lp, out, buf.data(), n, static_cast<std::int64_t>(offset), chunk, path);
      offset += n;
      co_await throw_if_stopped(path);
    }
  } catch (...) {
    err = std::current_exception();
  }
  co_await uvfs::close_quietly(lp, in);
  if (err) std::rethrow_exception(err);
  co_return offset;
}

}  // namespace

Task<std::unique_ptr<AsyncFile>> open_local_file(std::shared_ptr<LocalFileSystem> fs,
                                                 std::string path, std::string mode,
                                                 OpenOptions opts) {
  uv_loop_t* lp = fs->loop();
  const std::size_t block = opts.block_size.value_or(fs->block_size());
  if (mode == "rb") {
    const uv_file fd = co_await uvfs::open(lp, path, UV_FS_O_RDONLY, 0);
    std::exception_ptr err;
    try {
      const uv_stat_t st = co_await uvfs::fstat(lp, fd, path);
      if (S_ISDIR(st.st_mode)) throw IsADirectory(path, "is a directory");
      co_return std::make_unique<LocalFile>(std::move(fs), std::move(path), std::move(mode), fd,
                                            std::string(), st.st_size, block);
    } catch (...) {
      err = std::current_exception();
    }
    co_await uvfs::close_quietly(lp, fd);
    std::rethrow_exception(err);
  }
  // Fail now rather than at close() for a directory in the way (Python's open does too).
  auto r = co_await uvfs::call(lp, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_stat(l, req, path.c_str(), cb);
  });
  if (!r.error() && S_ISDIR(r.statbuf().st_mode)) throw IsADirectory(path, "is a directory");
  const WriteMode wmode = mode == "xb" ? WriteMode::kCreate : WriteMode::kOverwrite;
  co_await fs->prepare_target(path, wmode);
  TempFile tmp = co_await create_temp(lp, path);
  std::exception_ptr err;
  try {
    std::uint64_t size = 0;
    if (mode == "ab") size = co_await copy_existing(lp, path, tmp.fd, block);
    const uv_file fd = std::exchange(tmp.fd, -1);
    co_return std::make_unique<LocalFile>(std::move(fs), std::move(path), std::move(mode), fd,
                                          std::exchange(tmp.path, {}), size, block);
  } catch (...) {
    err = std::current_exception();
  }
  co_await discard_temp(lp, std::move(tmp));
  std::rethrow_exception(err);
}

}  // namespace asyncfs::local
