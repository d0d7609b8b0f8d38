// File objects: AsyncFile helpers, the blocking File wrapper, and the default buffered file.

#include "asyncfs/file.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "asyncfs/caching.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"

namespace asyncfs {

// --- AsyncFile -----------------------------------------------------------------------------------

Task<std::size_t> AsyncFile::readinto(std::span<char> buf) {
  Bytes data = co_await read(static_cast<std::int64_t>(buf.size()));
  const std::size_t n = std::min(data.size(), buf.size());
  if (n > 0) std::memcpy(buf.data(), data.data(), n);
  co_return n;
}

void AsyncFile::check_open(const char* op) const {
  if (closed_) {
    throw InvalidArgument(path::escape_for_message(path_), std::string(op) + " on a closed file");
  }
}

void AsyncFile::check_readable() const {
  check_open("read");
  if (!readable()) {
    throw InvalidArgument(path::escape_for_message(path_),
                          "file not open for reading (mode " + mode_ + ")");
  }
}

void AsyncFile::check_writable() const {
  check_open("write");
  if (!writable()) {
    throw InvalidArgument(path::escape_for_message(path_),
                          "file not open for writing (mode " + mode_ + ")");
  }
}

void check_open_mode(const std::string& path, const std::string& mode) {
  if (mode == "rb" || mode == "wb" || mode == "ab" || mode == "xb") return;
  throw InvalidArgument(
      path::escape_for_message(path),
      "unsupported open mode '" + path::escape_for_message(mode) + "' (use rb, wb, ab or xb)");
}

// --- File ----------------------------------------------------------------------------------------

namespace {

AsyncFile& live(const std::shared_ptr<AsyncFile>& f) {
  if (!f) throw InvalidArgument("", "use of a moved-from File");
  return *f;
}

// seek/tell are plain calls, but a backend's file may keep loop-owned state: run them there.
Task<std::uint64_t> seek_on_loop(AsyncFile* f, std::int64_t offset, Whence whence) {
  co_return f->seek(offset, whence);
}
Task<std::uint64_t> tell_on_loop(const AsyncFile* f) { co_return f->tell(); }

Task<void> destroy_on_loop(std::shared_ptr<AsyncFile> file) {
  file.reset();
  co_return;
}

// Closes (best effort) and destroys the file on its loop thread. Errors cannot be reported
// from a destructor; callers who care call close() first.
void dispose(std::shared_ptr<AsyncFileSystem>& fs, std::shared_ptr<AsyncFile>& file) noexcept {
  if (!file) return;
  if (fs && !file->closed()) {
    try {
      fs->run_sync(file->close());
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to report to
    }
  }
  if (fs) {
    // Destroyed on the loop, awaited: the file's own reference to the filesystem goes there
    // while ours is still held, so the filesystem (and an IoThread it owns) is released on
    // this thread, never on its own loop thread (threading rule 11).
    try {
      fs->run_sync(destroy_on_loop(std::move(file)));
    } catch (...) {  // loop gone or this is the loop thread: destroyed below, here
    }
  }
  file.reset();
  fs.reset();
}

}  // namespace

File::File(std::shared_ptr<AsyncFileSystem> fs, std::unique_ptr<AsyncFile> file)
    : fs_(std::move(fs)), file_(std::move(file)) {}

File::File(File&& other) noexcept : fs_(std::move(other.fs_)), file_(std::move(other.file_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    dispose(fs_, file_);
    fs_ = std::move(other.fs_);
    file_ = std::move(other.file_);
  }
  return *this;
}

File::~File() { dispose(fs_, file_); }

namespace {
struct FileKeepalive {
  std::shared_ptr<AsyncFileSystem> fs;
  std::shared_ptr<AsyncFile> file;
};
}  // namespace

template <class T>
T File::call(Task<T> task, CallTimeout t) const {
  return fs_->run_sync(std::move(task), t,
                       std::make_shared<FileKeepalive>(FileKeepalive{fs_, file_}));
}

Bytes File::read(std::int64_t n, CallTimeout t) { return call(live(file_).read(n), t); }

std::size_t File::readinto(std::span<char> buf, CallTimeout t) {
  // Read into a buffer the task owns and copy here: after a timeout the task may still be
  // running, and must not write into the caller's memory.
  Bytes got = call(live(file_).read(static_cast<std::int64_t>(buf.size())), t);
  std::memcpy(buf.data(), got.data(), got.size());
  return got.size();
}

std::uint64_t File::seek(std::int64_t offset, Whence whence) {
  return call(seek_on_loop(&live(file_), offset, whence), {});
}

std::uint64_t File::tell() const { return call(tell_on_loop(&live(file_)), {}); }

std::size_t File::write(Bytes data, CallTimeout t) {
  return call(live(file_).write(std::move(data)), t);
}

void File::flush(CallTimeout t) { call(live(file_).flush(), t); }

void File::close(CallTimeout t) {
  if (!file_ || file_->closed()) return;
  call(file_->close(), t);
}

// --- the default buffered file -------------------------------------------------------------------

namespace {

class BufferedFile final : public AsyncFile {
 public:
  BufferedFile(std::shared_ptr<AsyncFileSystem> fs, std::string p, std::string mode,
               std::optional<std::uint64_t> size, std::size_t block_size)
      : AsyncFile(std::move(p), std::move(mode)),
        fs_(std::move(fs)),
        size_(size),
        block_(block_size),
        loaded_(this->mode() != "ab") {}

  std::optional<std::uint64_t> size() const override {
    if (readable()) return size_;
    return buffer_.size();
  }

  Task<Bytes> read(std::int64_t n) override {
    check_readable();
    const std::uint64_t start = pos_;
    if (size_ && start >= *size_) co_return Bytes{};
    if (n == 0) co_return Bytes{};
    if (n < 0 && !size_) {
      // Unknown size, read to the end: one open-ended request, nothing worth caching.
      Bytes rest = co_await fs_->_cat_file(path(), static_cast<std::int64_t>(start), std::nullopt);
      pos_ = start + rest.size();
      co_return rest;
    }
    std::uint64_t want_end = n < 0 ? *size_ : start + static_cast<std::uint64_t>(n);
    if (size_) want_end = std::min(want_end, *size_);

    const std::uint64_t cache_end = cache_start_ + cache_.size();
    if (start >= cache_start_ && want_end <= cache_end) {
      Bytes out = cache_.substr(start - cache_start_, want_end - start);
      pos_ = want_end;
      co_return out;
    }
    // Keep the cached part of the request, fetch the rest plus one block of read-ahead.
    Bytes buf;
    std::uint64_t fetch_from = start;
    if (start >= cache_start_ && start < cache_end) {
      buf = cache_.substr(start - cache_start_);
      fetch_from = cache_end;
    }
    std::uint64_t fetch_to = want_end + block_;
    if (size_) fetch_to = std::min(fetch_to, *size_);
    cache_.clear();
    Bytes fetched = co_await fs_->_cat_file(path(), static_cast<std::int64_t>(fetch_from),
                                            static_cast<std::int64_t>(fetch_to));
    buf += fetched;
    fetched = Bytes();
    const std::size_t avail =
        static_cast<std::size_t>(std::min<std::uint64_t>(want_end - start, buf.size()));
    // Only the read-ahead tail stays cached, so a big read is not held twice.
    cache_ = buf.substr(avail);
    cache_start_ = start + avail;
    buf.resize(avail);
    pos_ = start + avail;
    co_return buf;
  }

  std::uint64_t seek(std::int64_t offset, Whence whence) override {
    check_open("seek");
    std::int64_t base = 0;
    if (whence == Whence::kCur) {
      base = static_cast<std::int64_t>(tell());
    } else if (whence == Whence::kEnd) {
      const auto s = size();
      if (!s) {
        throw InvalidArgument(path::escape_for_message(path()),
                              "cannot seek from the end: size unknown");
      }
      base = static_cast<std::int64_t>(*s);
    }
    const std::int64_t target = base + offset;
    if (target < 0) {
      throw InvalidArgument(path::escape_for_message(path()),
                            "negative seek position " + std::to_string(target));
    }
    if (!readable()) {
      // Writes are appended to one buffer; only "where am I" is meaningful.
      if (static_cast<std::uint64_t>(target) != tell()) {
        throw InvalidArgument(path::escape_for_message(path()),
                              "seek is not supported in write mode");
      }
      return tell();
    }
    pos_ = static_cast<std::uint64_t>(target);  // past the end is fine: reads return b""
    return pos_;
  }

  std::uint64_t tell() const override { return readable() ? pos_ : buffer_.size(); }

  Task<std::size_t> write(Bytes data) override {
    check_writable();
    co_await load_existing();
    buffer_ += data;
    co_return data.size();
  }

  Task<void> close() override {
    if (closed_) co_return;
    closed_ = true;
    if (readable()) {
      cache_ = Bytes();
      co_return;
    }
    co_await load_existing();
    Bytes data = std::move(buffer_);
    buffer_ = Bytes();
    co_await fs_->_pipe_file(path(), std::move(data),
                             mode() == "xb" ? WriteMode::kCreate : WriteMode::kOverwrite);
  }

 private:
  // "ab" starts from the current content; a missing file starts empty.
  Task<void> load_existing() {
    if (loaded_) co_return;
    loaded_ = true;
    Bytes existing;
    try {
      existing = co_await fs_->_cat_file(path(), std::nullopt, std::nullopt);
    } catch (const NotFound&) {
    }
    existing += buffer_;
    buffer_ = std::move(existing);
  }

  std::shared_ptr<AsyncFileSystem> fs_;
  std::optional<std::uint64_t> size_;
  std::size_t block_;
  std::uint64_t pos_ = 0;
  Bytes cache_;
  std::uint64_t cache_start_ = 0;
  Bytes buffer_;
  bool loaded_;
};

constexpr std::size_t kDefaultBlockSize = 5u << 20;  // fsspec's AbstractBufferedFile default

}  // namespace

std::unique_ptr<AsyncFile> make_buffered_file(std::shared_ptr<AsyncFileSystem> fs, std::string path,
                                              std::string mode, std::optional<std::uint64_t> size,
                                              std::size_t block_size) {
  check_open_mode(path, mode);
  return std::make_unique<BufferedFile>(std::move(fs), std::move(path), std::move(mode), size,
                                        block_size);
}

Task<std::unique_ptr<AsyncFile>> AsyncFileSystem::_open(std::string path, std::string mode,
                                                        OpenOptions opts) {
  check_open_mode(path, mode);
  std::string p = strip_protocol(path);
  std::optional<std::uint64_t> size = opts.size;
  if (mode == "rb" && !size) {
    FileInfo info = co_await _info(p);
    if (info.is_dir()) throw IsADirectory(p, "cannot open a directory");
    size = info.size;
  } else if (mode == "xb") {
    const bool taken = co_await _exists(p);  // not inside the if: see docs/writing-a-backend.md
    if (taken) throw AlreadyExists(p, "file exists (mode xb)");
  }
  const std::size_t block = opts.block_size.value_or(kDefaultBlockSize);
  if (mode == "rb" && size) {
    co_return make_cached_file(shared_from_this(), std::move(p), size, block, opts.cache_type);
  }
  co_return make_buffered_file(shared_from_this(), std::move(p), std::move(mode), size, block);
}

Task<std::uint64_t> AsyncFileSystem::_stream_file(std::string path,
                                                  UniqueFunction<void(std::string_view)> on_data) {
  constexpr std::int64_t kChunk = 1 << 20;
  // Named locals, not temporaries in the co_await expression (g++ 12 destroys those twice:
  // docs/writing-a-backend.md).
  OpenOptions opts;
  std::string mode = "rb";
  Task<std::unique_ptr<AsyncFile>> opening = _open(std::move(path), std::move(mode), opts);
  std::unique_ptr<AsyncFile> file = co_await std::move(opening);
  std::uint64_t total = 0;
  std::exception_ptr failed;
  try {
    for (;;) {
      Bytes chunk = co_await file->read(kChunk);
      if (chunk.empty()) break;
      total += chunk.size();
      on_data(chunk);
    }
  } catch (...) {
    failed = std::current_exception();
  }
  co_await file->close();  // not in a catch block: see docs/writing-a-backend.md
  if (failed) std::rethrow_exception(failed);
  co_return total;
}

}  // namespace asyncfs
