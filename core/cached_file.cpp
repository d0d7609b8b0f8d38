// The read-mode file of known size whose reads go through a ReadCache over _cat_file.

#include <utility>

#include "asyncfs/caching.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"

namespace asyncfs {

namespace {

class CacheReadFile final : public CachedFile {
 public:
  CacheReadFile(std::shared_ptr<AsyncFileSystem> fs, std::string p, std::uint64_t size,
                std::size_t block_size, std::string_view cache_type, Fetcher fetcher)
      : CachedFile(std::move(p), "rb"), fs_(std::move(fs)), size_(size) {
    if (!fetcher) {
      // A plain (non-coroutine) lambda: the Task it returns owns copies of its arguments, and
      // the captured filesystem outlives every fetch because the file holds it too.
      fetcher = [fs = fs_, target = path()](std::uint64_t start, std::uint64_t end) {
        return fs->_cat_file(target, static_cast<std::int64_t>(start),
                             static_cast<std::int64_t>(end));
      };
    }
    cache_ = make_cache(cache_type, block_size, size_, std::move(fetcher));
  }

  const ReadCache& cache() const override { return *cache_; }

  std::optional<std::uint64_t> size() const override { return size_; }

  Task<Bytes> read(std::int64_t n) override {
    check_readable();
    const std::uint64_t start = pos_;
    if (n == 0 || start >= size_) co_return Bytes{};
    std::uint64_t end = size_;
    if (n > 0 && static_cast<std::uint64_t>(n) < size_ - start) {
      end = start + static_cast<std::uint64_t>(n);
    }
    Bytes data = co_await cache_->read(start, end);
    pos_ = start + data.size();
    co_return data;
  }

  std::uint64_t seek(std::int64_t offset, Whence whence) override {
    check_open("seek");
    std::int64_t base = 0;
    if (whence == Whence::kCur) base = static_cast<std::int64_t>(pos_);
    if (whence == Whence::kEnd) base = static_cast<std::int64_t>(size_);
    const std::int64_t target = base + offset;
    if (target < 0) {
      throw InvalidArgument(path::escape_for_message(path()),
                            "negative seek position " + std::to_string(target));
    }
    pos_ = static_cast<std::uint64_t>(target);  // past the end is fine: reads return ""
    return pos_;
  }

  std::uint64_t tell() const override { return pos_; }

  Task<std::size_t> write(Bytes /*data*/) override {
    check_writable();  // always throws: this file is read-only
    co_return 0;
  }

  Task<void> close() override {
    closed_ = true;
    cache_->clear();  // the memory goes now; the counters stay readable for tests
    co_return;
  }

 private:
  std::shared_ptr<AsyncFileSystem> fs_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
  std::unique_ptr<ReadCache> cache_;
};

}  // namespace

std::unique_ptr<CachedFile> make_cached_file(std::shared_ptr<AsyncFileSystem> fs, std::string path,
                                             std::optional<std::uint64_t> size,
                                             std::size_t block_size, std::string cache_type,
                                             Fetcher fetcher) {
  if (!size) {
    throw InvalidArgument(path::escape_for_message(path),
                          "a cached file needs the file size (open a streaming file instead)");
  }
  const std::string_view type = cache_type.empty() ? kDefaultCacheType : cache_type;
  return std::make_unique<CacheReadFile>(std::move(fs), std::move(path), *size, block_size, type,
                                         std::move(fetcher));
}

}  // namespace asyncfs
