#pragma once
/// \file file.hpp
/// \brief File objects: AsyncFile (coroutines, loop thread) and File (blocking, any thread).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "asyncfs/filesystem.hpp"
#include "asyncfs/task.hpp"

namespace asyncfs {

enum class Whence { kSet = 0, kCur = 1, kEnd = 2 };

/// \brief A file opened on a filesystem. Use only on the filesystem's loop thread.
///
/// Read mode: read/readinto/seek/tell. Write modes ("wb", "ab", "xb"): write/flush/close; the
/// data becomes visible under the final name only when close() succeeds, and a failed close
/// leaves nothing behind under that name.
class AsyncFile {
 public:
  virtual ~AsyncFile() = default;

  const std::string& path() const noexcept { return path_; }
  const std::string& mode() const noexcept { return mode_; }
  bool readable() const noexcept { return mode_ == "rb"; }
  bool writable() const noexcept { return !readable(); }
  bool closed() const noexcept { return closed_; }
  /// Total size when known (read mode), or bytes written so far (write modes).
  virtual std::optional<std::uint64_t> size() const = 0;

  /// Up to `n` bytes from the current position (n < 0: to the end). Short only at EOF.
  virtual Task<Bytes> read(std::int64_t n) = 0;
  /// Reads into `buf`; returns the number of bytes read (0 at EOF).
  virtual Task<std::size_t> readinto(std::span<char> buf);
  /// \throws InvalidArgument for a negative target, or a backward seek on a stream-only file.
  virtual std::uint64_t seek(std::int64_t offset, Whence whence) = 0;
  virtual std::uint64_t tell() const = 0;

  virtual Task<std::size_t> write(Bytes data) = 0;
  virtual Task<void> flush() { co_return; }
  /// Commits (write modes) and releases resources. Idempotent.
  virtual Task<void> close() = 0;

 protected:
  AsyncFile(std::string path, std::string mode) : path_(std::move(path)), mode_(std::move(mode)) {}
  void check_open(const char* op) const;
  void check_readable() const;
  void check_writable() const;
  bool closed_ = false;

 private:
  std::string path_;
  std::string mode_;
};

/// \brief Blocking file object; each call is one sync() on the filesystem's IoThread.
///
/// Not safe for concurrent use from several threads (like any file object). The destructor
/// closes the file but cannot report errors: call close() to learn whether a write landed.
class File {
 public:
  File(std::shared_ptr<AsyncFileSystem> fs, std::unique_ptr<AsyncFile> file);
  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& path() const { return file_->path(); }
  std::optional<std::uint64_t> size() const { return file_->size(); }
  Bytes read(std::int64_t n = -1, CallTimeout t = {});
  std::size_t readinto(std::span<char> buf, CallTimeout t = {});
  std::uint64_t seek(std::int64_t offset, Whence whence = Whence::kSet);
  std::uint64_t tell() const;
  std::size_t write(Bytes data, CallTimeout t = {});
  void flush(CallTimeout t = {});
  void close(CallTimeout t = {});
  bool closed() const { return !file_ || file_->closed(); }
  AsyncFile& async_file() { return *file_; }

 private:
  /// Runs a call of the file on the loop; a timed-out call keeps file and filesystem alive.
  template <class T>
  T call(Task<T> task, CallTimeout t) const;

  std::shared_ptr<AsyncFileSystem> fs_;
  std::shared_ptr<AsyncFile> file_;
};

/// \brief The default file for backends without their own: range reads through _cat_file with
/// a read-ahead window of `block_size`, writes buffered and stored by _pipe_file on close.
std::unique_ptr<AsyncFile> make_buffered_file(std::shared_ptr<AsyncFileSystem> fs, std::string path,
                                              std::string mode, std::optional<std::uint64_t> size,
                                              std::size_t block_size);

/// Validates an fsspec binary mode ("rb", "wb", "ab", "xb"); throws InvalidArgument otherwise.
void check_open_mode(const std::string& path, const std::string& mode);

}  // namespace asyncfs
