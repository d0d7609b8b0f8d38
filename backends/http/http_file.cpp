// HttpFileSystem::_open: the file objects of the HTTP backend.
//
// The base's cached range-reading file when the size is known and the server accepts ranges,
// else a forward-only stream with bounded memory (StreamFile, on Engine::stream).

#include <algorithm>

#include "asyncfs/caching.hpp"
#include "asyncfs/file.hpp"
#include "backends/http/http_fs.hpp"

namespace asyncfs::http {
namespace {

/// Bytes of a streaming file's body held in memory ahead of the reader (plus one chunk).
constexpr std::size_t kStreamAhead = 4u << 20;

/// \brief A read-only file for servers that cannot serve ranges (or sizes): one GET whose body
/// is read as the reader goes, forward only. Memory stays bounded by what a read asks for
/// plus kStreamAhead: the transfer pauses while the reader is behind.
class StreamFile final : public AsyncFile {
 public:
  StreamFile(std::shared_ptr<HttpFileSystem> fs, std::string url, std::optional<std::uint64_t> size)
      : AsyncFile(url, "rb"), fs_(std::move(fs)), size_(size) {}

  std::optional<std::uint64_t> size() const override {
    return eof_ ? std::optional<std::uint64_t>(pos_ + (buffer_.size() - offset_)) : size_;
  }

  Task<Bytes> read(std::int64_t n) override {
    check_readable();
    co_await fill(n < 0 ? std::nullopt : std::optional<std::uint64_t>(n));
    const std::uint64_t avail = buffer_.size() - offset_;
    const std::uint64_t take = n < 0 ? avail : std::min<std::uint64_t>(avail, n);
    Bytes out = buffer_.substr(offset_, take);
    offset_ += take;
    pos_ += take;
    compact();
    co_return out;
  }

  std::uint64_t seek(std::int64_t offset, Whence whence) override {
    check_open("seek");
    std::int64_t target = offset;
    if (whence == Whence::kCur) target += static_cast<std::int64_t>(pos_);
    if (whence == Whence::kEnd) {
      auto sz = size();
      if (!sz) throw InvalidArgument(path(), "cannot seek from the end: size unknown (stream)");
      target += static_cast<std::int64_t>(*sz);
    }
    if (target < 0) throw InvalidArgument(path(), "negative seek position");
    if (static_cast<std::uint64_t>(target) < pos_) {
      throw InvalidArgument(path(),
                            "cannot seek backwards in a streaming HTTP file (the server gives "
                            "no size or does not accept ranges)");
    }
    // Forward: the bytes in between are dropped from the buffer, then as they arrive.
    std::uint64_t gap = static_cast<std::uint64_t>(target) - pos_;
    const std::uint64_t buffered = std::min<std::uint64_t>(gap, buffer_.size() - offset_);
    offset_ += static_cast<std::size_t>(buffered);
    compact();
    skip_ += gap - buffered;
    pos_ = static_cast<std::uint64_t>(target);
    return pos_;
  }
  std::uint64_t tell() const override { return pos_; }

  Task<std::size_t> write(Bytes) override {
    check_writable();
    co_return 0;
  }
  Task<void> close() override {
    closed_ = true;
    stream_.reset();  // cancels a transfer still running
    buffer_.clear();
    co_return;
  }

 private:
  /// Buffers until `want` bytes (all, when nullopt) are available or the body ends.
  Task<void> fill(std::optional<std::uint64_t> want) {
    if (!stream_ && !eof_) {
      RequestSpec get;
      get.url = path();
      get.accept_encoding = kDecodedEncodings;
      Task<std::unique_ptr<BodyStream>> opening = fs_->open_stream(std::move(get), kStreamAhead);
      stream_ = co_await std::move(opening);
      if (stream_->response().status != 200) {
        const Response head = stream_->response();
        stream_.reset();
        throw_status(head, path(), "GET");
      }
    }
    while (!eof_ && (skip_ > 0 || !want || buffer_.size() - offset_ < *want)) {
      Bytes chunk = co_await stream_->next();
      if (chunk.empty()) {
        eof_ = true;
        stream_.reset();
        break;
      }
      if (skip_ > 0) {
        // Seeked past these bytes.
        const std::size_t drop =
            static_cast<std::size_t>(std::min<std::uint64_t>(skip_, chunk.size()));
        skip_ -= drop;
        chunk.erase(0, drop);
      }
      buffer_.append(chunk);
    }
  }

  /// Drops consumed bytes once they are the larger part of the buffer.
  void compact() {
    if (offset_ > 0 && offset_ * 2 >= buffer_.size()) {
      buffer_.erase(0, offset_);
      offset_ = 0;
    }
  }

  std::shared_ptr<HttpFileSystem> fs_;
  std::optional<std::uint64_t> size_;
  std::unique_ptr<BodyStream> stream_;
  Bytes buffer_;  // received, not yet read (from offset_)
  std::size_t offset_ = 0;
  std::uint64_t pos_ = 0;   // position of the reader in the body
  std::uint64_t skip_ = 0;  // bytes still to drop after a forward seek
  bool eof_ = false;
};

}  // namespace

Task<std::unique_ptr<AsyncFile>> HttpFileSystem::_open(std::string path, std::string mode,
                                                       OpenOptions opts) {
  check_open_mode(path, mode);
  const std::string url = strip_protocol(path);
  if (mode != "rb") co_return co_await AsyncFileSystem::_open(url, mode, std::move(opts));

  const std::size_t block = opts.block_size.value_or(options_.block_size);
  std::optional<std::uint64_t> size = opts.size;
  bool ranges = true;
  if (!size) {
    FileInfo info = co_await _info(url);
    if (info.is_dir()) throw IsADirectory(url, "cannot open a directory");
    size = info.size;
    auto ar = info.extra.find("accept_ranges");
    if (ar != info.extra.end() && ar->second == "none") ranges = false;
    if (info.extra.contains("content_encoding")) ranges = false;
  }
  auto self = std::static_pointer_cast<HttpFileSystem>(shared_from_this());
  if (size && *size > 0 && ranges && block > 0) {
    // fsspec's HTTP default is the "bytes" cache: one growing buffer suits sequential reads.
    const std::string cache = opts.cache_type.empty() ? "bytes" : opts.cache_type;
    co_return make_cached_file(self, url, size, block, cache);
  }
  std::unique_ptr<AsyncFile> f = std::make_unique<StreamFile>(self, url, size);
  co_return f;
}

}  // namespace asyncfs::http
