// FirecrestFileSystem: reads, writes and file objects.
//
// Small files go through ops/download and ops/upload: one request each. A read tries the
// direct download first and stages only when the server answers 413, so bulk cat of small
// files costs one request per file. Large files are staged through S3: a download job puts a
// copy in the staging area, and every read of that file while the presigned URL lasts uses
// the same copy (ranged GETs, several in parallel). Local files are written atomically.

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

#include "asyncfs/caching.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/file.hpp"
#include "asyncfs/path.hpp"
#include "asyncfs/slice.hpp"
#include "backends/firecrest/client_impl.hpp"
#include "backends/firecrest/fs_state.hpp"
#include "core/fs/temp_file.hpp"
#include "core/fs/uv_fs.hpp"

namespace asyncfs::firecrest {
namespace {

using Clock = std::chrono::steady_clock;

/// A staged copy is reused until this long before its presigned URL expires.
constexpr auto kUrlMargin = std::chrono::seconds(30);
/// Presigned URL lifetime when the server does not say.
constexpr auto kDefaultUrlLifetime = std::chrono::seconds(600);

std::string key_of(const std::string& system, const std::string& path) {
  return system + "\n" + path;
}

/// Writes `data` to `target` atomically (temp file, rename).
Task<void> write_local(uv_loop_t* loop, std::string target, Bytes data) {
  auto fill = [loop, target, data = std::move(data)](uv_file fd) {
    return uvfs::write_all(loop, fd, data.data(), data.size(), 0, 1 << 20, target);
  };
  co_await uvfs::write_atomically(loop, target, std::move(fill));
}

/// A temporary local file (created, closed) for data on its way to or from the cluster.
Task<std::string> spool_file(uv_loop_t* loop) {
  std::error_code ec;
  std::string dir = std::filesystem::temp_directory_path(ec).string();
  if (ec || dir.empty()) dir = "/tmp";
  uvfs::TempFile t = co_await uvfs::create_temp(loop, dir + "/asyncfs-firecrest");
  co_await uvfs::close(loop, t.fd, t.path);
  co_return t.path;
}

/// Hex SHA-256 of a local file, read in the thread pool.
Task<std::string> local_sha256(uv_loop_t* loop, std::string path) {
  auto hash = [path]() -> std::string {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw IoError(path, "cannot read the file to checksum it");
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::vector<char> buf(1 << 20);
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) EVP_DigestUpdate(ctx, buf.data(), n);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    if (failed) throw IoError(path, "read error while checksumming");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  };
  co_return co_await uvfs::in_pool(loop, std::move(hash));
}

bool exists_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const NotFound&) {
    return false;
  } catch (...) {
    return true;
  }
}

}  // namespace

// --- limits and staged copies ----------------------------------------------------------------

Task<std::uint64_t> FirecrestFileSystem::direct_limit(std::string system) {
  System s = co_await client_->_system(system);
  // The server base64-encodes direct transfers into an output buffer of max_ops_file_size.
  const std::uint64_t cap = s.max_ops_file_size / 4 * 3;
  co_return std::min<std::uint64_t>(options_.client.direct_transfer_limit, cap > 4 ? cap - 4 : 0);
}

Task<std::shared_ptr<Transfer>> FirecrestFileSystem::staged_copy(std::string system,
                                                                 std::string path, StatResult st) {
  const std::string key = key_of(system, path);
  auto it = state_->staged.find(key);
  if (it != state_->staged.end()) {
    std::shared_ptr<StagedCopy> c = it->second;
    const bool same = c->size == st.size && c->mtime == st.mtime && Clock::now() < c->expires;
    if (same && !c->failed) {
      while (!c->transfer && !c->failed) co_await c->ready->wait();
      if (c->transfer) co_return c->transfer;
    }
    // Stale, expired or failed: stage again (only if nobody replaced it meanwhile).
    it = state_->staged.find(key);
    if (it != state_->staged.end() && it->second == c) state_->staged.erase(it);
  }
  auto c = std::make_shared<StagedCopy>();
  c->size = st.size;
  c->mtime = st.mtime;
  c->ready = std::make_unique<WaitQueue>(io());
  System sys = co_await client_->_system(system);
  const auto lifetime = sys.transfer_ttl ? std::chrono::seconds(*sys.transfer_ttl)
                                         : std::chrono::seconds(kDefaultUrlLifetime);
  c->expires = Clock::now() + lifetime - std::min<std::chrono::seconds>(kUrlMargin, lifetime / 2);
  state_->staged[key] = c;
  try {
    Transfer t = co_await client_->_start_download(system, path);
    co_await t._wait();
    c->transfer = std::make_shared<Transfer>(std::move(t));
  } catch (...) {
    c->failed = std::current_exception();
  }
  c->ready->notify_all();
  if (c->failed) {
    it = state_->staged.find(key);
    if (it != state_->staged.end() && it->second == c) state_->staged.erase(it);
    std::rethrow_exception(c->failed);
  }
  co_return c->transfer;
}

Task<Bytes> FirecrestFileSystem::read_staged(std::string system, std::string path, StatResult st,
                                             std::uint64_t first, std::uint64_t last) {
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<Transfer> t = co_await staged_copy(system, path, st);
    bool expired = false;
    try {
      co_return co_await t->_read(first, last);
    } catch (const PermissionDenied&) {
      // The staging area refuses an expired (or revoked) URL: stage the file again, once.
      if (attempt > 0) throw;
      expired = true;
    }
    if (expired) {
      auto it = state_->staged.find(key_of(system, path));
      if (it != state_->staged.end() && it->second->transfer == t) state_->staged.erase(it);
    }
  }
}

Task<void> FirecrestFileSystem::verify(std::string system, std::string path,
                                       std::string local_path) {
  if (!options_.verify_checksum) co_return;
  Checksum remote = co_await client_->_checksum(system, path);
  std::string local = co_await local_sha256(io().loop(), local_path);
  if (remote.checksum != local) {
    throw IoError(display(system, path), "checksum mismatch: the server's SHA-256 is " +
                                             remote.checksum + ", the local file's " + local);
  }
}

// --- reads -----------------------------------------------------------------------------------

Task<Bytes> FirecrestFileSystem::_cat_file(std::string path, std::optional<std::int64_t> start,
                                           std::optional<std::int64_t> end) {
  RemotePath rp = split_remote(strip_protocol(path));
  const bool whole = (!start || *start == 0) && !end;
  if (whole) {
    // One request for a small file; the server says 413 when it is too large to send directly.
    try {
      co_return co_await client_->_download_bytes(rp.system, rp.path);
    } catch (const TooLarge&) {
      // staged below
    }
  }
  StatResult st = co_await client_->_stat(rp.system, rp.path, true);
  if (S_ISDIR(st.mode)) throw IsADirectory(rp.url(), "cat_file: a directory");
  auto [first, last] = slice_bounds(st.size, start, end);
  if (first >= last) co_return Bytes{};
  const std::uint64_t limit = co_await direct_limit(rp.system);
  if (!whole && st.size <= limit) {
    Bytes all = co_await client_->_download_bytes(rp.system, rp.path);
    first = std::min<std::uint64_t>(first, all.size());
    last = std::min<std::uint64_t>(last, all.size());
    co_return all.substr(first, last - first);
  }
  co_return co_await read_staged(rp.system, rp.path, st, first, last);
}

Task<void> FirecrestFileSystem::_get_file(std::string rpath, std::string lpath,
                                          Callback* progress) {
  RemotePath rp = split_remote(strip_protocol(rpath));
  if (lpath.starts_with("file://")) lpath.erase(0, 7);
  uv_loop_t* loop = io().loop();
  // Small files: one request, then straight into place.
  bool large = false;
  bool dir = false;
  Bytes data;
  try {
    data = co_await client_->_download_bytes(rp.system, rp.path);
  } catch (const TooLarge&) {
    large = true;
  } catch (const IsADirectory&) {
    dir = true;
  }
  if (!large && !dir) {
    const std::uint64_t n = data.size();
    if (progress) progress->set_size(n);
    co_await uvfs::make_dirs(loop, path::parent(lpath), true);
    co_await write_local(loop, lpath, std::move(data));
    if (progress) progress->relative_update(n);
  }
  if (dir) {
    // fsspec's get_file of a directory makes the local directory.
    co_await uvfs::make_dirs(loop, lpath, true);
    co_return;
  }
  if (large) {
    co_await uvfs::make_dirs(loop, path::parent(lpath), true);
    co_await client_->_download(rp.system, rp.path, lpath, progress);
  }
  co_await verify(rp.system, rp.path, lpath);
}

// --- writes ----------------------------------------------------------------------------------

Task<void> FirecrestFileSystem::_put_file(std::string lpath, std::string rpath, Callback* progress,
                                          WriteMode mode) {
  RemotePath rp = split_remote(strip_protocol(rpath));
  if (lpath.starts_with("file://")) lpath.erase(0, 7);
  uv_loop_t* loop = io().loop();
  uv_stat_t lst = co_await uvfs::stat(loop, lpath);
  if (S_ISDIR(lst.st_mode)) {
    co_await _makedirs(rp.name(), /*exist_ok=*/true);
    co_return;
  }
  const std::uint64_t limit = co_await direct_limit(rp.system);
  const bool staged = static_cast<std::uint64_t>(lst.st_size) > limit;
  if (mode == WriteMode::kCreate || staged) {
    // A staged upload learns of a directory in the way only when its job fails, minutes later
    // on a busy cluster: ask first. kCreate needs the answer anyway.
    std::exception_ptr probe;
    StatResult st{};
    try {
      st = co_await client_->_stat(rp.system, rp.path, true);
    } catch (...) {
      probe = std::current_exception();
    }
    const bool exists = !probe || exists_error(probe);
    if (probe && exists) std::rethrow_exception(probe);
    if (exists && S_ISDIR(st.mode))
      throw IsADirectory(rp.url(), "put_file: the target is a directory");
    if (exists && mode == WriteMode::kCreate)
      throw AlreadyExists(rp.url(), "put_file: the target exists");
  }
  // Like the other backends, a write makes the missing parent directories; the first attempt
  // assumes they exist (one request per small file).
  bool no_parent = false;
  try {
    co_await client_->_upload(rp.system, lpath, rp.path, progress);
  } catch (const NotFound&) {
    no_parent = true;
  }
  if (no_parent) {
    co_await client_->_mkdir(rp.system, path::parent(rp.path), /*parent=*/true);
    co_await client_->_upload(rp.system, lpath, rp.path, progress);
  }
  co_await verify(rp.system, rp.path, lpath);
}

Task<void> FirecrestFileSystem::_pipe_file(std::string path, Bytes data, WriteMode mode) {
  RemotePath rp = split_remote(strip_protocol(path));
  const std::uint64_t limit = co_await direct_limit(rp.system);
  if (data.size() <= limit && mode == WriteMode::kOverwrite) {
    bool no_parent = false;
    try {
      // A copy: small by definition, and needed again if the parent must be made first.
      co_await client_->_upload_bytes(rp.system, rp.path, data);
    } catch (const NotFound&) {
      no_parent = true;
    }
    if (no_parent) {
      co_await client_->_mkdir(rp.system, path::parent(rp.path), /*parent=*/true);
      co_await client_->_upload_bytes(rp.system, rp.path, std::move(data));
    }
    co_return;
  }
  // Large data goes through a local file: the staged upload streams its parts from disk.
  uv_loop_t* loop = io().loop();
  const std::string tmp = co_await spool_file(loop);
  std::exception_ptr failed;
  try {
    co_await write_local(loop, tmp, std::move(data));
    co_await _put_file(tmp, rp.name(), nullptr, mode);
  } catch (...) {
    failed = std::current_exception();
  }
  co_await uvfs::unlink_quietly(loop, tmp);
  if (failed) std::rethrow_exception(failed);
}

Task<void> FirecrestFileSystem::copy_between_systems(std::string from, std::string to) {
  uv_loop_t* loop = io().loop();
  const std::string tmp = co_await spool_file(loop);
  std::exception_ptr failed;
  try {
    co_await _get_file(from, tmp, nullptr);
    co_await _put_file(tmp, to, nullptr, WriteMode::kOverwrite);
  } catch (...) {
    failed = std::current_exception();
  }
  co_await uvfs::unlink_quietly(loop, tmp);
  if (failed) std::rethrow_exception(failed);
}

// --- file objects ----------------------------------------------------------------------------

namespace {

/// A small file's bytes, fetched once for all the reads of one open file.
struct WholeFile {
  std::shared_ptr<Client> client;
  std::string system, path;
  std::optional<Bytes> data;
};

Task<Bytes> read_whole(std::shared_ptr<WholeFile> w, std::uint64_t start, std::uint64_t end) {
  if (!w->data) w->data = co_await w->client->_download_bytes(w->system, w->path);
  const std::uint64_t n = w->data->size();
  start = std::min(start, n);
  end = std::min(end, n);
  co_return w->data->substr(start, end - start);
}

/// \brief A write-mode file: writes go to a local spool file, close() puts it on the cluster
/// (direct or staged by size). Memory stays bounded whatever the file's size; nothing appears
/// under the remote name unless close() succeeds.
class SpoolFile final : public AsyncFile {
 public:
  SpoolFile(std::shared_ptr<FirecrestFileSystem> fs, std::string path, std::string mode,
            std::string spool, uv_file fd, std::uint64_t size)
      : AsyncFile(std::move(path), std::move(mode)),
        fs_(std::move(fs)),
        spool_(std::move(spool)),
        fd_(fd),
        size_(size) {}
  ~SpoolFile() override {
    if (fd_ >= 0 || !spool_.empty()) {
      uvfs::close_and_unlink_detached(fs_->io().loop(), fd_, spool_);
    }
  }

  std::optional<std::uint64_t> size() const override { return size_; }
  Task<Bytes> read(std::int64_t) override {
    check_readable();
    co_return Bytes{};
  }
  std::uint64_t seek(std::int64_t offset, Whence whence) override {
    check_open("seek");
    if (!(offset == 0 && whence == Whence::kCur) &&
        !(whence == Whence::kSet && static_cast<std::uint64_t>(offset) == size_)) {
      throw InvalidArgument(path(), "a file opened for writing cannot seek");
    }
    return size_;
  }
  std::uint64_t tell() const override { return size_; }

  Task<std::size_t> write(Bytes data) override {
    check_writable();
    const std::size_t n = data.size();
    co_await uvfs::write_all(fs_->io().loop(), fd_, data.data(), n,
                             static_cast<std::int64_t>(size_), 1 << 20, path());
    size_ += n;
    co_return n;
  }

  Task<void> close() override {
    if (closed_) co_return;
    closed_ = true;
    uv_loop_t* loop = fs_->io().loop();
    const uv_file fd = fd_;
    fd_ = -1;
    std::exception_ptr failed;
    try {
      co_await uvfs::close(loop, fd, path());
      co_await fs_->_put_file(spool_, path(), nullptr,
                              mode() == "xb" ? WriteMode::kCreate : WriteMode::kOverwrite);
    } catch (...) {
      failed = std::current_exception();
    }
    const std::string spool = std::move(spool_);
    spool_.clear();
    co_await uvfs::unlink_quietly(loop, spool);
    if (failed) std::rethrow_exception(failed);
  }

 private:
  std::shared_ptr<FirecrestFileSystem> fs_;
  std::string spool_;
  uv_file fd_;
  std::uint64_t size_;
};

}  // namespace

Task<std::unique_ptr<AsyncFile>> FirecrestFileSystem::_open(std::string path, std::string mode,
                                                            OpenOptions opts) {
  check_open_mode(path, mode);
  RemotePath rp = split_remote(strip_protocol(path));
  auto self = std::static_pointer_cast<FirecrestFileSystem>(shared_from_this());
  uv_loop_t* loop = io().loop();
  if (mode != "rb") {
    if (mode == "xb") {
      std::exception_ptr probe;
      try {
        co_await client_->_stat(rp.system, rp.path, false);
      } catch (...) {
        probe = std::current_exception();
      }
      if (!probe) throw AlreadyExists(rp.url(), "open(\"xb\"): the file exists");
      if (exists_error(probe)) std::rethrow_exception(probe);
    }
    std::string spool = co_await spool_file(loop);
    std::uint64_t size = 0;
    if (mode == "ab") {
      // Append: start from the current content (absent is fine).
      std::exception_ptr probe;
      try {
        co_await _get_file(rp.name(), spool, nullptr);
      } catch (...) {
        probe = std::current_exception();
      }
      if (probe && exists_error(probe)) {
        co_await uvfs::unlink_quietly(loop, spool);
        std::rethrow_exception(probe);
      }
    }
    uv_file fd = co_await uvfs::open(loop, spool, O_WRONLY, 0600, spool);
    uv_stat_t st = co_await uvfs::fstat(loop, fd, spool);
    size = static_cast<std::uint64_t>(st.st_size);
    std::unique_ptr<AsyncFile> f =
        std::make_unique<SpoolFile>(self, rp.name(), mode, std::move(spool), fd, size);
    co_return f;
  }

  StatResult st{};
  if (opts.size) {
    st.size = *opts.size;
  } else {
    st = co_await client_->_stat(rp.system, rp.path, true);
    if (S_ISDIR(st.mode)) throw IsADirectory(rp.url(), "cannot open a directory");
  }
  const std::size_t block = opts.block_size.value_or(options_.block_size);
  const std::string cache = opts.cache_type.empty() ? "readahead" : opts.cache_type;
  const std::uint64_t limit = co_await direct_limit(rp.system);
  Fetcher fetch;
  if (st.size <= limit) {
    auto whole = std::make_shared<WholeFile>();
    whole->client = client_;
    whole->system = rp.system;
    whole->path = rp.path;
    fetch = [whole](std::uint64_t a, std::uint64_t b) { return read_whole(whole, a, b); };
  } else {
    fetch = [self, rp, st](std::uint64_t a, std::uint64_t b) {
      return self->read_staged(rp.system, rp.path, st, a, b);
    };
  }
  std::unique_ptr<AsyncFile> f = make_cached_file(
      self, rp.name(), st.size, std::max<std::size_t>(block, 1), cache, std::move(fetch));
  co_return f;
}

}  // namespace asyncfs::firecrest
