// HttpFileSystem::_open: the file objects of the HTTP backend.
//
// Kept apart from the hooks so read caches can be plugged in here later. Today: the base's
// buffered range-reading file when the size is known and the server accepts ranges, else a
// forward-only stream.

#include <algorithm>

#include "asyncfs/caching.hpp"
#include "asyncfs/file.hpp"
#include "backends/http/http_fs.hpp"

namespace asyncfs::http {
namespace {

/// \brief A read-only file for servers that cannot serve ranges (or sizes): reads go forward
/// only. The body is fetched by one GET on the first read and held in memory, bounded by
/// max_ignored_range_body (TooLarge beyond); a true incremental stream needs flow control the
/// engine does not offer yet.
class StreamFile final : public AsyncFile {
 public:
  StreamFile(std::shared_ptr<HttpFileSystem> fs, std::string url, std::optional<std::uint64_t> size)
      : AsyncFile(url, "rb"), fs_(std::move(fs)), size_(size) {}

  std::optional<std::uint64_t> size() const override {
    return fetched_ ? std::optional<std::uint64_t>(body_.size()) : size_;
  }

  Task<Bytes> read(std::int64_t n) override {
    check_readable();
    if (!fetched_) co_await fetch();
    const std::uint64_t avail = pos_ < body_.size() ? body_.size() - pos_ : 0;
    const std::uint64_t take = n < 0 ? avail : std::min<std::uint64_t>(avail, n);
    Bytes out = body_.substr(pos_, take);
    pos_ += take;
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
    body_.clear();
    co_return;
  }

 private:
  Task<void> fetch() {
    RequestSpec get;
    get.url = path();
    get.accept_encoding = "gzip, deflate";
    get.max_bytes = fs_->options().max_ignored_range_body;
    Response r = co_await fs_->send(std::move(get));
    if (r.status != 200) fs_->throw_status(r, path(), "GET");
    body_ = std::move(r.body);
    fetched_ = true;
  }

  std::shared_ptr<HttpFileSystem> fs_;
  std::optional<std::uint64_t> size_;
  Bytes body_;
  bool fetched_ = false;
  std::uint64_t pos_ = 0;
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
