// Temporary files committed atomically, and mkdir -p (see temp_file.hpp).

#include "core/fs/temp_file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "asyncfs/errors.hpp"
#include "core/fs/uv_fs.hpp"

namespace asyncfs::uvfs {
namespace {

constexpr std::string_view kTempMarker = ".asyncfs-";
/// Longest basename kept in a temp name, so the temp name stays under NAME_MAX (255).
constexpr std::size_t kMaxTempStem = 200;

std::string random_suffix() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}() ^ static_cast<std::uint64_t>(::getpid())};
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::lock_guard lock(mu);
  std::string out(6, '\0');
  for (auto& c : out) c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return out;
}

std::string dir_of(const std::string& p) {
  const auto slash = p.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return p.substr(0, slash);
}

std::string base_of(const std::string& p) {
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string join_child(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (!out.ends_with('/')) out += '/';
  out += name;
  return out;
}

/// No-replace rename; returns 0 or a negated errno.
int rename_noreplace_blocking(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  int err = errno;
  if (err != EINVAL && err != ENOSYS && err != ENOTSUP) return -err;
  // The filesystem has no RENAME_NOREPLACE: link() fails atomically on an existing target.
  if (::link(from.c_str(), to.c_str()) == 0) {
    ::unlink(from.c_str());
    return 0;
  }
  err = errno;
  if (err != EPERM && err != ENOTSUP && err != EOPNOTSUPP && err != EMLINK && err != EXDEV) {
    return -err;
  }
  // Neither (vfat, some FUSE mounts): check then rename, racy only on such filesystems.
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) return -EEXIST;
  if (::rename(from.c_str(), to.c_str()) != 0) return -errno;
  return 0;
}

}  // namespace

Task<TempFile> create_temp(uv_loop_t* loop, std::string target) {
  std::string stem = base_of(target);
  if (stem.size() > kMaxTempStem) stem.resize(kMaxTempStem);
  const std::string dir = dir_of(target);
  for (int attempt = 0;; ++attempt) {
    TempFile tmp;
    tmp.path = join_child(dir, "." + stem + std::string(kTempMarker) + random_suffix());
    auto r = co_await uvfs::call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
      return uv_fs_open(l, req, tmp.path.c_str(), UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_EXCL,
                        0666, cb);
    });
    if (r.error() == UV_EEXIST && attempt < 100) continue;
    if (r.error()) throw_uv_error(r.error(), target, "write (creating a temp file)");
    tmp.fd = static_cast<uv_file>(r.result());
    co_return tmp;
  }
}

Task<void> commit_temp(uv_loop_t* loop, std::string temp, std::string target, WriteMode mode) {
  if (mode == WriteMode::kOverwrite) {
    auto r = co_await uvfs::call(loop, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
      return uv_fs_rename(l, req, temp.c_str(), target.c_str(), cb);
    });
    if (r.error()) throw_uv_error(r.error(), target, "write (renaming into place)");
    co_return;
  }
  auto job = [temp, target] { return rename_noreplace_blocking(temp, target); };
  const int rc = co_await uvfs::in_pool(loop, std::move(job));
  if (rc < 0) throw_uv_error(uv_translate_sys_error(-rc), target, "create");
}

Task<void> discard_temp(uv_loop_t* loop, TempFile tmp) {
  if (tmp.fd >= 0) co_await uvfs::close_quietly(loop, tmp.fd);
  if (!tmp.path.empty()) co_await uvfs::unlink_quietly(loop, tmp.path);
}

Task<void> write_all(uv_loop_t* loop, uv_file fd, const char* data, std::size_t len,
                     std::int64_t offset, std::size_t chunk, std::string what) {
  std::size_t done = 0;
  while (done < len) {
    const std::size_t n = std::min(chunk, len - done);
    const std::size_t w = co_await uvfs::write(loop, fd, data + done, n,
                                               offset + static_cast<std::int64_t>(done), what);
    if (w == 0) throw IoError(what, "write made no progress");
    done += w;
    if (done < len) co_await throw_if_stopped(what);
  }
}

Task<void> make_dirs(uv_loop_t* lp, std::string path, bool exist_ok) {
  for (int attempt = 0;; ++attempt) {
    auto r = co_await uvfs::call(lp, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
      return uv_fs_mkdir(l, req, path.c_str(), 0777, cb);
    });
    if (!r.error()) co_return;
    if (r.error() == UV_EEXIST) {
      if (exist_ok) {
        // A directory (or a symlink to one) is fine; a file is not.
        auto st = co_await uvfs::call(lp, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
          return uv_fs_stat(l, req, path.c_str(), cb);
        });
        if (!st.error() && S_ISDIR(st.statbuf().st_mode)) co_return;
      }
      throw AlreadyExists(path, "file exists");
    }
    if (r.error() == UV_ENOENT && path != "/" && attempt == 0) {
      // A parent is missing: make it (a concurrent maker may win: exist_ok), then retry once.
      co_await make_dirs(lp, dir_of(path), /*exist_ok=*/true);
      continue;
    }
    throw_uv_error(r.error(), path, "mkdir");
  }
}

Task<void> write_atomically(uv_loop_t* loop, std::string target,
                            UniqueFunction<Task<void>(uv_file)> fill) {
  const std::string parent = dir_of(target);
  co_await make_dirs(loop, parent);
  TempFile tmp = co_await create_temp(loop, target);
  std::exception_ptr err;
  try {
    co_await fill(tmp.fd);
    co_await close(loop, std::exchange(tmp.fd, -1), target);
    co_await commit_temp(loop, tmp.path, target, WriteMode::kOverwrite);
    co_return;
  } catch (...) {
    err = std::current_exception();
  }
  co_await discard_temp(loop, std::move(tmp));
  std::rethrow_exception(err);
}

}  // namespace asyncfs::uvfs
