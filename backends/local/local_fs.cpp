// file:// — the local disk through libuv's fs requests.
//
// Rules this file keeps:
// - No blocking syscall on the loop thread: every disk operation is a uv_fs_* request or a
//   uv_queue_work job (listings and stats, which need several syscalls per call).
// - Writes never show a partial file under the final name: data goes to a temp file in the
//   same directory (".<name>.asyncfs-XXXXXX"), which is renamed into place only when complete,
//   and unlinked when anything fails (including cancellation). A crash can leave such a temp
//   file behind; it is never under the final name. There is no fsync (like fsspec): after a
//   power loss the new name may point at incomplete data on filesystems that do not order
//   rename after data.
// - Long operations check for a stop request between chunks; a single uv request in flight
//   cannot be interrupted.

#include "backends/local/local_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"
#include "asyncfs/slice.hpp"
#include "core/fs/temp_file.hpp"
#include "core/fs/uv_fs.hpp"

namespace asyncfs::local {
namespace {

std::string dir_of(const std::string& p) {
  const auto slash = p.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return p.substr(0, slash);
}

std::string join_child(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out.append(name);
  return out;
}

double to_seconds(const struct timespec& ts) {
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double to_seconds(const uv_timespec_t& ts) {
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// --- threadpool side: plain syscalls, run only inside uvfs::in_pool jobs ------------------------

[[noreturn]] void throw_errno(int err, const std::string& path, std::string_view op) {
  throw_uv_error(uv_translate_sys_error(err), path, op);
}

/// "fifo", "socket", "character device", "block device"; null for files and directories.
const char* special_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  return nullptr;
}

/// A FIFO would block the read (forever, with nobody writing), a device never ends: copies
/// refuse them before opening anything.
void refuse_special(const std::string& path, std::uint64_t mode) {
  if (const char* kind = special_kind(static_cast<mode_t>(mode))) {
    throw InvalidArgument(path, std::string("not a regular file but a ") + kind + ": not copied");
  }
}

/// Info of `name` inside the open directory `dirfd` (or a path when dirfd is AT_FDCWD) from
/// its lstat: symlinks report their target's type, size and mtime, plus link_target. A broken
/// link is kOther with an unknown size.
FileInfo info_from_lstat(int dirfd, const char* rel, std::string name, const struct stat& lst) {
  FileInfo info;
  info.name = std::move(name);
  struct stat st = lst;
  bool resolved = true;
  if (S_ISLNK(lst.st_mode)) {
    std::string target(static_cast<std::size_t>(lst.st_size > 0 ? lst.st_size : 255), '\0');
    for (;;) {
      const ssize_t n = ::readlinkat(dirfd, rel, target.data(), target.size());
      if (n < 0) {
        target.clear();
        break;
      }
      if (static_cast<std::size_t>(n) < target.size()) {
        target.resize(static_cast<std::size_t>(n));
        break;
      }
      target.resize(target.size() * 2);
    }
    info.link_target = std::move(target);
    info.extra["islink"] = "true";
    resolved = ::fstatat(dirfd, rel, &st, 0) == 0;
  }
  if (!resolved) {
    info.type = FileType::kOther;
    info.mode = lst.st_mode;
    info.mtime = to_seconds(lst.st_mtim);
    return info;
  }
  info.type = S_ISDIR(st.st_mode)   ? FileType::kDirectory
              : S_ISREG(st.st_mode) ? FileType::kFile
                                    : FileType::kOther;
  info.size = static_cast<std::uint64_t>(st.st_size);
  info.mtime = to_seconds(st.st_mtim);
  info.mode = st.st_mode;
  info.extra["uid"] = std::to_string(st.st_uid);
  info.extra["gid"] = std::to_string(st.st_gid);
  info.extra["ino"] = std::to_string(st.st_ino);
  info.extra["dev"] = std::to_string(st.st_dev);  // with ino: how walks notice a cycle
  info.extra["nlink"] = std::to_string(st.st_nlink);
  if (const char* kind = special_kind(st.st_mode)) info.extra["special"] = kind;
  return info;
}

/// A lookup below a file (ENOTDIR) finds nothing: NotFound, as exists() and fsspec expect.
[[noreturn]] void throw_lookup_errno(int err, const std::string& path, std::string_view op) {
  throw_errno(err == ENOTDIR ? ENOENT : err, path, op);
}

FileInfo stat_path_blocking(const std::string& path) {
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) throw_lookup_errno(errno, path, "stat");
  return info_from_lstat(AT_FDCWD, path.c_str(), path, lst);
}

std::vector<FileInfo> list_blocking(const std::string& path) {
  FileInfo self = stat_path_blocking(path);
  if (!self.is_dir()) return {std::move(self)};
  DIR* dir = ::opendir(path.c_str());
  if (!dir) throw_errno(errno, path, "list");
  const int dfd = ::dirfd(dir);
  std::vector<FileInfo> out;
  for (;;) {
    errno = 0;
    const struct dirent* ent = ::readdir(dir);
    if (!ent) {
      const int err = errno;
      ::closedir(dir);
      if (err != 0) throw_errno(err, path, "list");
      break;
    }
    const std::string_view name(ent->d_name);
    if (name == "." || name == "..") continue;
    struct stat lst {};
    // An entry removed between readdir and stat is simply not listed.
    if (::fstatat(dfd, ent->d_name, &lst, AT_SYMLINK_NOFOLLOW) != 0) continue;
    out.push_back(info_from_lstat(dfd, ent->d_name, join_child(path, name), lst));
  }
  std::sort(out.begin(), out.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  return out;
}

std::string current_dir() {
  std::string buf(256, '\0');
  for (;;) {
    if (::getcwd(buf.data(), buf.size())) {
      buf.resize(std::char_traits<char>::length(buf.c_str()));
      return buf;
    }
    if (errno != ERANGE) throw_errno(errno, ".", "getcwd");
    buf.resize(buf.size() * 2);
  }
}

}  // namespace

// --- LocalFileSystem ----------------------------------------------------------------------------

LocalFileSystem::LocalFileSystem(LocalOptions options)
    : AsyncFileSystem(std::move(options.base)),
      block_size_(options.block_size),
      auto_mkdir_(options.auto_mkdir) {}

Capabilities LocalFileSystem::capabilities() const {
  Capabilities caps;
  caps.modified_time = true;
  caps.local = true;
  return caps;
}

std::string LocalFileSystem::strip_protocol(std::string_view p) const {
  const std::string original(p);
  if (p.empty()) throw InvalidArgument("", "empty path");
  if (p.find('\0') != std::string_view::npos) {
    throw InvalidArgument(path::escape_for_message(original), "path contains a NUL byte");
  }
  // The API speaks UTF-8 (AsyncFileSystem::strip_protocol). Names on disk that are not UTF-8
  // still show up in listings, as raw bytes, but cannot be passed back in.
  if (!path::is_valid_utf8(p)) {
    throw InvalidArgument(path::escape_for_message(original), "path is not valid UTF-8");
  }
  for (std::string_view prefix : {"file://", "local://"}) {
    if (!p.starts_with(prefix)) continue;
    p.remove_prefix(prefix.size());
    if (p.starts_with("localhost/") || p == "localhost") {
      p.remove_prefix(std::string_view("localhost").size());
      if (p.empty()) p = "/";
    } else if (!p.starts_with("/")) {
      throw InvalidArgument(
          path::escape_for_message(original),
          "a file:// URL needs an absolute path: use file:///abs/path (three slashes) or "
          "file://localhost/abs/path; a relative path is written without the scheme "
          "(dir/file), and file://NAME would mean a file on host NAME");
    }
    break;
  }
  if (p.find("://") != std::string_view::npos) {
    throw InvalidArgument(path::escape_for_message(original), "not a local path or file:// URL");
  }
  std::string full;
  if (p == "~" || p.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    if (!home || !*home) throw InvalidArgument(original, "cannot expand ~: HOME is not set");
    full = std::string(home) + std::string(p.substr(1));
  } else if (!p.starts_with("/")) {
    full = current_dir() + "/" + std::string(p);
  } else {
    full = std::string(p);
  }
  // Lexical normalization: drop empty and "." components, resolve ".." (never above "/").
  std::vector<std::string_view> parts;
  std::string_view rest(full);
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view comp = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(comp);
  }
  std::string out;
  for (auto comp : parts) {
    out += '/';
    out.append(comp);
  }
  return out.empty() ? std::string("/") : out;
}

Task<std::vector<FileInfo>> LocalFileSystem::_ls(std::string path) {
  path = strip_protocol(path);
  auto job = [path] { return list_blocking(path); };
  co_return co_await uvfs::in_pool(loop(), std::move(job));
}

Task<FileInfo> LocalFileSystem::_info(std::string path) {
  path = strip_protocol(path);
  auto job = [path] { return stat_path_blocking(path); };
  co_return co_await uvfs::in_pool(loop(), std::move(job));
}

namespace {
/// Read size for files whose size stat does not know (/proc, pipes).
constexpr std::size_t kUnknownSizeRead = 64 << 10;
}  // namespace

Task<Bytes> LocalFileSystem::_cat_file(std::string path, std::optional<std::int64_t> start,
                                       std::optional<std::int64_t> end) {
  path = strip_protocol(path);
  uv_loop_t* lp = loop();
  const uv_file fd = co_await uvfs::open(lp, path, UV_FS_O_RDONLY, 0);
  Bytes out;
  std::exception_ptr err;
  try {
    const uv_stat_t st = co_await uvfs::fstat(lp, fd, path);
    if (S_ISDIR(st.st_mode)) throw IsADirectory(path, "is a directory");
    const std::size_t chunk = std::max<std::size_t>(block_size_, 1);
    // Without an end (and no negative start) read to EOF rather than trusting st_size: files
    // in /proc report 0, and a file may grow while we read.
    const bool to_eof = !end && (!start || *start >= 0);
    std::int64_t offset;
    std::int64_t stop;
    if (to_eof) {
      offset = start.value_or(0);
      stop = -1;
    } else {
      const auto [first, last] = slice_bounds(st.st_size, start, end);
      offset = static_cast<std::int64_t>(first);
      stop = static_cast<std::int64_t>(last);
    }
    const bool regular = S_ISREG(st.st_mode);
    const auto stat_size = static_cast<std::int64_t>(st.st_size);
    for (;;) {
      std::size_t want = chunk;
      if (stop >= 0) {
        if (offset >= stop) break;
        want = std::min<std::size_t>(chunk, static_cast<std::size_t>(stop - offset));
      } else if (stat_size > offset) {
        // To EOF: size the buffer by what stat says (one byte more, to see the end in the same
        // read) rather than a whole chunk, which would be zero-filled for a 4 KiB file.
        want = std::min<std::size_t>(chunk, static_cast<std::size_t>(stat_size - offset) + 1);
      } else {
        want = std::min<std::size_t>(chunk, kUnknownSizeRead);
      }
      const std::size_t have = out.size();
      out.resize(have + want);
      const std::size_t n = co_await uvfs::read(lp, fd, out.data() + have, want, offset, path);
      out.resize(have + n);
      if (n == 0) break;
      offset += static_cast<std::int64_t>(n);
      // A short read of a regular file is its end; saves the extra read that returns 0.
      if (regular && n < want) break;
      co_await throw_if_stopped(path);
    }
  } catch (...) {
    err = std::current_exception();
  }
  co_await uvfs::close_quietly(lp, fd);
  if (err) std::rethrow_exception(err);
  co_return out;
}

Task<void> LocalFileSystem::prepare_target(std::string path, WriteMode mode) {
  if (path == "/") throw IsADirectory(path, "is a directory");
  if (auto_mkdir_) co_await _makedirs(dir_of(path), /*exist_ok=*/true);
  if (mode == WriteMode::kCreate) {
    const auto existing = co_await uvfs::lstat_if_exists(loop(), path);
    if (existing) throw AlreadyExists(path, "file exists");
  }
}

Task<void> LocalFileSystem::_pipe_file(std::string path, Bytes data, WriteMode mode) {
  path = strip_protocol(path);
  uv_loop_t* lp = loop();
  co_await prepare_target(path, mode);
  TempFile tmp = co_await create_temp(lp, path);
  std::exception_ptr err;
  try {
    co_await write_all(lp, tmp.fd, data.data(), data.size(), 0,
                       std::max<std::size_t>(block_size_, 1), path);
    co_await uvfs::close(lp, std::exchange(tmp.fd, -1), path);
    co_await commit_temp(lp, tmp.path, path, mode);
    co_return;
  } catch (...) {
    err = std::current_exception();
  }
  co_await discard_temp(lp, std::move(tmp));
  std::rethrow_exception(err);
}

Task<void> LocalFileSystem::copy_chunked(std::string src, std::string dst, Callback* progress,
                                         WriteMode mode) {
  uv_loop_t* lp = loop();
  const uv_stat_t pre = co_await uvfs::stat(lp, src);
  refuse_special(src, pre.st_mode);
  uv_file in = co_await uvfs::open(lp, src, UV_FS_O_RDONLY, 0);
  TempFile tmp;
  std::exception_ptr err;
  try {
    const uv_stat_t st = co_await uvfs::fstat(lp, in, src);
    if (S_ISDIR(st.st_mode)) {
      // fsspec: getting or putting a directory makes the directory.
      co_await uvfs::close_quietly(lp, std::exchange(in, -1));
      co_await _makedirs(dst, /*exist_ok=*/true);
      co_return;
    }
    co_await prepare_target(dst, mode);
    tmp = co_await create_temp(lp, dst);
    if (progress) progress->set_size(st.st_size);
    const std::size_t chunk = std::max<std::size_t>(block_size_, 1);
    std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(chunk, st.st_size + 1)), '\0');
    std::int64_t offset = 0;
    for (;;) {
      const std::size_t n = co_await uvfs::read(lp, in, buf.data(), buf.size(), offset, src);
      if (n == 0) break;
      co_await write_all(lp, tmp.fd, buf.data(), n, offset, chunk, dst);
      offset += static_cast<std::int64_t>(n);
      if (progress) progress->relative_update(n);
      co_await throw_if_stopped(src);
    }
    co_await uvfs::close_quietly(lp, std::exchange(in, -1));
    co_await uvfs::close(lp, std::exchange(tmp.fd, -1), dst);
    co_await commit_temp(lp, tmp.path, dst, mode);
    co_return;
  } catch (...) {
    err = std::current_exception();
  }
  if (in >= 0) co_await uvfs::close_quietly(lp, in);
  co_await discard_temp(lp, std::move(tmp));
  std::rethrow_exception(err);
}

Task<void> LocalFileSystem::copy_whole(std::string src, std::string dst) {
  uv_loop_t* lp = loop();
  const uv_stat_t st = co_await uvfs::stat(lp, src);
  if (S_ISDIR(st.st_mode)) {
    co_await _makedirs(dst, /*exist_ok=*/true);
    co_return;
  }
  refuse_special(src, st.st_mode);
  co_await prepare_target(dst, WriteMode::kOverwrite);
  TempFile tmp = co_await create_temp(lp, dst);
  std::exception_ptr err;
  try {
    co_await uvfs::close(lp, std::exchange(tmp.fd, -1), dst);
    // Reflink where the filesystem can, else copy_file_range/sendfile; keeps the mode bits.
    auto r = co_await uvfs::call(lp, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
      return uv_fs_copyfile(l, req, src.c_str(), tmp.path.c_str(), UV_FS_COPYFILE_FICLONE, cb);
    });
    if (r.error()) throw_uv_error(r.error(), src, "copy");
    co_await commit_temp(lp, tmp.path, dst, WriteMode::kOverwrite);
    co_return;
  } catch (...) {
    err = std::current_exception();
  }
  co_await discard_temp(lp, std::move(tmp));
  std::rethrow_exception(err);
}

Task<void> LocalFileSystem::_get_file(std::string rpath, std::string lpath, Callback* progress) {
  rpath = strip_protocol(rpath);
  lpath = strip_protocol(lpath);
  // fsspec's get_file creates the local parent directories, whatever auto_mkdir says.
  co_await _makedirs(dir_of(lpath), /*exist_ok=*/true);
  co_await copy_chunked(std::move(rpath), std::move(lpath), progress, WriteMode::kOverwrite);
}

Task<void> LocalFileSystem::_put_file(std::string lpath, std::string rpath, Callback* progress,
                                      WriteMode mode) {
  co_await copy_chunked(strip_protocol(lpath), strip_protocol(rpath), progress, mode);
}

Task<void> LocalFileSystem::_cp_file(std::string path1, std::string path2) {
  co_await copy_whole(strip_protocol(path1), strip_protocol(path2));
}

Task<void> LocalFileSystem::_rm_file(std::string path) {
  path = strip_protocol(path);
  co_await uvfs::unlink(loop(), path);
}

Task<void> LocalFileSystem::_rmdir(std::string path) {
  path = strip_protocol(path);
  co_await uvfs::rmdir(loop(), path);
}

Task<void> LocalFileSystem::_mkdir(std::string path, bool create_parents) {
  path = strip_protocol(path);
  uv_loop_t* lp = loop();
  auto r = co_await uvfs::call(lp, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_mkdir(l, req, path.c_str(), 0777, cb);
  });
  if (!r.error()) co_return;
  // Parents only when one is missing: a file in the way must stay NotADirectory.
  if (r.error() != UV_ENOENT || !create_parents || path == "/") {
    throw_uv_error(r.error(), path, "mkdir");
  }
  co_await _makedirs(dir_of(path), /*exist_ok=*/true);
  co_await uvfs::mkdir(lp, path, 0777);
}

Task<void> LocalFileSystem::_makedirs(std::string path, bool exist_ok) {
  co_await uvfs::make_dirs(loop(), strip_protocol(path), exist_ok);
}

Task<void> LocalFileSystem::_mv_file(std::string path1, std::string path2) {
  path1 = strip_protocol(path1);
  path2 = strip_protocol(path2);
  uv_loop_t* lp = loop();
  if (auto_mkdir_) co_await _makedirs(dir_of(path2), /*exist_ok=*/true);
  auto r = co_await uvfs::call(lp, [&](uv_loop_t* l, uv_fs_t* req, uv_fs_cb cb) {
    return uv_fs_rename(l, req, path1.c_str(), path2.c_str(), cb);
  });
  if (!r.error()) co_return;
  if (r.error() != UV_EXDEV) {
    const int e = r.error();
    bool about_dst = e == UV_EISDIR || e == UV_ENOTEMPTY || e == UV_EEXIST;
    if (e == UV_ENOTDIR) {
      // ENOTDIR is about the destination when it exists (a dir onto a file).
      const auto dst = co_await uvfs::lstat_if_exists(lp, path2);
      about_dst = dst.has_value();
    }
    throw_uv_error(e, about_dst ? path2 : path1, "rename");
  }
  // Another filesystem: copy, then delete the source.
  const uv_stat_t st = co_await uvfs::stat(lp, path1);
  if (S_ISDIR(st.st_mode)) {
    TransferOptions topts;
    topts.recursive = true;
    Paths from(path1);
    Paths to(path2);
    co_await _copy(std::move(from), std::move(to), topts);
    RmOptions ropts;
    ropts.recursive = true;
    Paths gone(path1);
    co_await _rm(std::move(gone), ropts);
  } else {
    co_await copy_whole(path1, path2);
    co_await uvfs::unlink(lp, path1);
  }
}

Task<double> LocalFileSystem::_modified(std::string path) {
  path = strip_protocol(path);
  const uv_stat_t st = co_await uvfs::stat(loop(), path);
  co_return to_seconds(st.st_mtim);
}

Task<std::unique_ptr<AsyncFile>> LocalFileSystem::_open(std::string path, std::string mode,
                                                        OpenOptions opts) {
  path = strip_protocol(path);
  check_open_mode(path, mode);
  auto self = std::static_pointer_cast<LocalFileSystem>(shared_from_this());
  co_return co_await open_local_file(std::move(self), std::move(path), std::move(mode),
                                     std::move(opts));
}

// --- options and factories ----------------------------------------------------------------------

LocalOptions LocalOptions::from(Options opts, std::shared_ptr<IoThread> io) {
  LocalOptions out;
  out.base = FsBaseOptions::from(opts, std::move(io));
  if (auto v = opts.get_int("block_size")) {
    if (*v <= 0) {
      throw InvalidArgument(
          "block_size", "block_size must be a positive number of bytes, got " + std::to_string(*v));
    }
    out.block_size = static_cast<std::size_t>(*v);
  }
  if (auto v = opts.get_bool("auto_mkdir")) out.auto_mkdir = *v;
  opts.take("block_size");
  opts.take("auto_mkdir");
  opts.check_known("file", {});
  return out;
}

std::shared_ptr<AsyncFileSystem> make_filesystem(LocalOptions options) {
  if (options.block_size == 0) throw InvalidArgument("block_size", "block_size must be positive");
  return std::make_shared<LocalFileSystem>(std::move(options));
}

std::shared_ptr<AsyncFileSystem> local_filesystem(std::shared_ptr<IoThread> io) {
  if (!io) io = default_io_thread();
  // Weak entries: the instance dies with its last user. A live instance holds its IoThread, so
  // the address key cannot be reused by another IoThread while the entry can still be locked.
  static std::mutex mu;
  static std::map<const IoThread*, std::weak_ptr<AsyncFileSystem>> instances;
  std::lock_guard lock(mu);
  for (auto it = instances.begin(); it != instances.end();) {
    it = it->second.expired() ? instances.erase(it) : std::next(it);
  }
  auto& slot = instances[io.get()];
  if (auto fs = slot.lock()) return fs;
  LocalOptions opts;
  opts.base.io = std::move(io);
  auto fs = make_filesystem(std::move(opts));
  slot = fs;
  return fs;
}

}  // namespace asyncfs::local
