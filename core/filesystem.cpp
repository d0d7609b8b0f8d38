// AsyncFileSystem: construction, path handling, default hooks and the blocking twins.

#include "asyncfs/filesystem.hpp"

#include <fmt/format.h>

#include <limits>
#include <numeric>
#include <string>
#include <utility>

#include "asyncfs/config.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/file.hpp"
#include "asyncfs/path.hpp"
#include "core/filesystem_detail.hpp"

namespace asyncfs {

// --- options and construction -------------------------------------------------------------------

FsBaseOptions FsBaseOptions::from(Options& opts, std::shared_ptr<IoThread> io) {
  FsBaseOptions out;
  out.io = std::move(io);
  if (auto v = opts.get_int("batch_size")) {
    if (*v == 0 || *v < -1 || *v > std::numeric_limits<int>::max()) {
      throw InvalidArgument("batch_size",
                            "batch_size must be -1 (unbounded) or a positive number, "
                            "got " +
                                std::to_string(*v));
    }
    out.batch_size = static_cast<int>(*v);
  }
  if (auto v = opts.get_bool("asynchronous")) out.asynchronous = *v;
  opts.take("batch_size");
  opts.take("asynchronous");
  return out;
}

AsyncFileSystem::AsyncFileSystem(FsBaseOptions base)
    : io_(base.io ? std::move(base.io) : default_io_thread()),
      batch_size_(base.batch_size),
      asynchronous_(base.asynchronous) {}

AsyncFileSystem::~AsyncFileSystem() = default;

const Bytes& CatResult::value() const {
  if (!single || items.size() != 1) {
    throw InvalidArgument("", "cat returned " + std::to_string(items.size()) +
                                  " entries: read items instead of value()");
  }
  return items.begin()->second.value();
}

// --- paths ---------------------------------------------------------------------------------------

std::string AsyncFileSystem::strip_protocol(std::string_view p) const {
  detail::validate_path(p);
  const std::string proto = protocol();
  for (const char* sep : {"://", "::"}) {
    const std::string prefix = proto + sep;
    if (p.size() >= prefix.size() && p.substr(0, prefix.size()) == prefix) {
      p.remove_prefix(prefix.size());
      break;
    }
  }
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  if (p.empty()) return root_marker();
  return std::string(p);
}

std::string AsyncFileSystem::unstrip_protocol(std::string_view p) const {
  const std::string proto = protocol();
  for (const char* sep : {"://", "::"}) {
    const std::string prefix = proto + sep;
    if (p.size() >= prefix.size() && p.substr(0, prefix.size()) == prefix) return std::string(p);
  }
  return proto + "://" + std::string(p);
}

std::size_t AsyncFileSystem::find_magic(std::string_view p) const {
  return p.find_first_of(capabilities().question_mark_is_wildcard ? "*?[" : "*[");
}

std::string AsyncFileSystem::parent(std::string_view p) const {
  const std::string stripped = strip_protocol(p);
  const std::string marker = root_marker();
  const auto pos = stripped.rfind('/');
  if (pos == std::string::npos) return marker;
  std::string_view head(stripped.data(), pos);
  // The marker is put back exactly once whether or not the path started with it.
  while (!marker.empty() && head.substr(0, marker.size()) == marker) {
    head.remove_prefix(marker.size());
  }
  return marker + std::string(head);
}

int AsyncFileSystem::window(std::optional<int> call, bool nofiles) const {
  return resolve_batch_size(call, batch_size_, nofiles);
}

void AsyncFileSystem::not_implemented(std::string_view op, const std::string& path) const {
  throw NotImplemented(path,
                       "the " + protocol() + " filesystem does not implement " + std::string(op));
}

void AsyncFileSystem::check_blocking_allowed() const {
  if (asynchronous_) {
    throw InvalidArgument("", "this " + protocol() +
                                  " filesystem was created with asynchronous=true: co_await its "
                                  "coroutines (_cat, _ls, ...) instead of the blocking methods");
  }
}

// --- default hooks -------------------------------------------------------------------------------

Task<std::vector<FileInfo>> AsyncFileSystem::_ls(std::string path) {
  not_implemented("ls", path);
  co_return std::vector<FileInfo>{};
}

Task<FileInfo> AsyncFileSystem::_info(std::string path) {
  not_implemented("info", path);
  co_return FileInfo{};
}

Task<Bytes> AsyncFileSystem::_cat_file(std::string path, std::optional<std::int64_t>,
                                       std::optional<std::int64_t>) {
  not_implemented("cat_file", path);
  co_return Bytes{};
}

Task<void> AsyncFileSystem::_pipe_file(std::string path, Bytes, WriteMode) {
  not_implemented("pipe_file", path);
  co_return;
}

Task<void> AsyncFileSystem::_rm_file(std::string path) {
  not_implemented("rm_file", path);
  co_return;
}

Task<void> AsyncFileSystem::_cp_file(std::string path1, std::string) {
  not_implemented("cp_file", path1);
  co_return;
}

// Stores whose directories are only implied by their files have nothing to create or remove
// (fsspec's defaults are no-ops); a backend with real directories must implement these.
Task<void> AsyncFileSystem::_mkdir(std::string path, bool) {
  if (capabilities().real_directories) not_implemented("mkdir", path);
  co_return;
}

Task<void> AsyncFileSystem::_makedirs(std::string path, bool) {
  if (capabilities().real_directories) not_implemented("makedirs", path);
  co_return;
}

Task<void> AsyncFileSystem::_rmdir(std::string path) {
  if (capabilities().real_directories) not_implemented("rmdir", path);
  co_return;
}

Task<double> AsyncFileSystem::_modified(std::string path) {
  not_implemented("modified", path);
  co_return 0.0;
}

namespace {

// What a blocking call is about, for its Timeout (which the task itself never sees).
std::string about(const std::string& path) { return path; }
std::string about(const std::vector<std::string>& paths) {
  if (paths.empty()) return {};
  if (paths.size() == 1) return paths.front();
  return fmt::format("{} (and {} more)", paths.front(), paths.size() - 1);
}
std::string about(const Paths& paths) { return about(paths.items); }

}  // namespace

// --- blocking twins ------------------------------------------------------------------------------

std::vector<FileInfo> AsyncFileSystem::ls(std::string path, CallTimeout t) {
  return run_sync(_ls(path), t, about(path));
}

std::vector<std::string> AsyncFileSystem::ls_names(std::string path, CallTimeout t) {
  std::vector<std::string> names;
  for (auto& info : ls(std::move(path), t)) names.push_back(std::move(info.name));
  return names;
}

FileInfo AsyncFileSystem::info(std::string path, CallTimeout t) {
  return run_sync(_info(path), t, about(path));
}

Bytes AsyncFileSystem::cat_file(std::string path, std::optional<std::int64_t> start,
                                std::optional<std::int64_t> end, CallTimeout t) {
  return run_sync(_cat_file(path, start, end), t, about(path));
}

CatResult AsyncFileSystem::cat(Paths paths, CatOptions opts, CallTimeout t) {
  return run_sync(_cat(paths, opts), t, about(paths));
}

std::uint64_t AsyncFileSystem::stream_file(std::string path,
                                           UniqueFunction<void(std::string_view)> on_data,
                                           CallTimeout t) {
  return run_sync(_stream_file(path, std::move(on_data)), t, about(path));
}

std::vector<Outcome<Bytes>> AsyncFileSystem::cat_ranges(
    std::vector<std::string> paths, std::vector<std::optional<std::int64_t>> starts,
    std::vector<std::optional<std::int64_t>> ends, CallTimeout t) {
  return run_sync(_cat_ranges(paths, std::move(starts), std::move(ends), std::nullopt), t,
                  about(paths));
}

void AsyncFileSystem::pipe_file(std::string path, Bytes data, WriteMode mode, CallTimeout t) {
  run_sync(_pipe_file(path, std::move(data), mode), t, about(path));
}

void AsyncFileSystem::pipe(std::map<std::string, Bytes> items, CallTimeout t) {
  run_sync(_pipe(std::move(items), std::nullopt), t);  // the items are data: never copied
}

void AsyncFileSystem::get_file(std::string rpath, std::string lpath, Callback* progress,
                               CallTimeout t) {
  run_sync(_get_file(rpath, std::move(lpath), progress), t, about(rpath));
}

void AsyncFileSystem::put_file(std::string lpath, std::string rpath, Callback* progress,
                               CallTimeout t) {
  run_sync(_put_file(lpath, std::move(rpath), progress, WriteMode::kOverwrite), t, about(lpath));
}

void AsyncFileSystem::rm_file(std::string path, CallTimeout t) {
  run_sync(_rm_file(path), t, about(path));
}

void AsyncFileSystem::cp_file(std::string path1, std::string path2, CallTimeout t) {
  run_sync(_cp_file(path1, std::move(path2)), t, about(path1));
}

void AsyncFileSystem::mkdir(std::string path, bool create_parents, CallTimeout t) {
  run_sync(_mkdir(path, create_parents), t, about(path));
}

void AsyncFileSystem::makedirs(std::string path, bool exist_ok, CallTimeout t) {
  run_sync(_makedirs(path, exist_ok), t, about(path));
}

void AsyncFileSystem::rmdir(std::string path, CallTimeout t) {
  run_sync(_rmdir(path), t, about(path));
}

std::string AsyncFileSystem::checksum(std::string path, CallTimeout t) {
  return run_sync(_checksum(path), t, about(path));
}

double AsyncFileSystem::modified(std::string path, CallTimeout t) {
  return run_sync(_modified(path), t, about(path));
}

bool AsyncFileSystem::exists(std::string path, CallTimeout t) {
  return run_sync(_exists(path), t, about(path));
}

bool AsyncFileSystem::isdir(std::string path, CallTimeout t) {
  return run_sync(_isdir(path), t, about(path));
}

bool AsyncFileSystem::isfile(std::string path, CallTimeout t) {
  return run_sync(_isfile(path), t, about(path));
}

std::optional<std::uint64_t> AsyncFileSystem::size(std::string path, CallTimeout t) {
  return run_sync(_size(path), t, about(path));
}

std::vector<std::optional<std::uint64_t>> AsyncFileSystem::sizes(std::vector<std::string> paths,
                                                                 CallTimeout t) {
  return run_sync(_sizes(paths, std::nullopt), t, about(paths));
}

std::vector<WalkEntry> AsyncFileSystem::walk(std::string path, WalkOptions opts, CallTimeout t) {
  return run_sync(_walk(path, opts), t, about(path));
}

std::map<std::string, FileInfo> AsyncFileSystem::find(std::string path, FindOptions opts,
                                                      CallTimeout t) {
  return run_sync(_find(path, std::move(opts)), t, about(path));
}

std::map<std::string, FileInfo> AsyncFileSystem::glob(std::string pattern, GlobOptions opts,
                                                      CallTimeout t) {
  return run_sync(_glob(pattern, opts), t, about(pattern));
}

std::map<std::string, std::uint64_t> AsyncFileSystem::du(std::string path, DuOptions opts,
                                                         CallTimeout t) {
  return run_sync(_du(path, opts), t, about(path));
}

std::uint64_t AsyncFileSystem::du_total(std::string path, DuOptions opts, CallTimeout t) {
  const auto sizes = du(std::move(path), opts, t);
  return std::accumulate(sizes.begin(), sizes.end(), std::uint64_t{0},
                         [](std::uint64_t acc, const auto& kv) { return acc + kv.second; });
}

std::vector<std::string> AsyncFileSystem::expand_path(Paths paths, bool recursive,
                                                      std::optional<int> maxdepth, CallTimeout t) {
  return run_sync(_expand_path(paths, recursive, maxdepth), t, about(paths));
}

void AsyncFileSystem::get(Paths rpaths, Paths lpaths, TransferOptions opts, CallTimeout t) {
  run_sync(_get(rpaths, std::move(lpaths), opts), t, about(rpaths));
}

void AsyncFileSystem::put(Paths lpaths, Paths rpaths, TransferOptions opts, CallTimeout t) {
  run_sync(_put(lpaths, std::move(rpaths), opts), t, about(lpaths));
}

void AsyncFileSystem::copy(Paths path1, Paths path2, TransferOptions opts, CallTimeout t) {
  run_sync(_copy(path1, std::move(path2), opts), t, about(path1));
}

void AsyncFileSystem::mv(Paths path1, Paths path2, TransferOptions opts, CallTimeout t) {
  run_sync(_mv(path1, std::move(path2), opts), t, about(path1));
}

void AsyncFileSystem::rm(Paths paths, RmOptions opts, CallTimeout t) {
  run_sync(_rm(paths, opts), t, about(paths));
}

File AsyncFileSystem::open(std::string path, std::string mode, OpenOptions opts, CallTimeout t) {
  return File(shared_from_this(), run_sync(_open(path, std::move(mode), std::move(opts)), t, path));
}

// --- shared helpers ------------------------------------------------------------------------------

namespace detail {

void check_maxdepth(std::optional<int> maxdepth, std::string_view op) {
  if (maxdepth && *maxdepth < 1) {
    throw InvalidArgument(
        "", std::string(op) + ": maxdepth must be at least 1, got " + std::to_string(*maxdepth));
  }
}

void validate_path(std::string_view p) {
  if (p.empty()) throw InvalidArgument("", "empty path");
  if (!path::is_valid_utf8(p)) {
    throw InvalidArgument(path::escape_for_message(p), "path is not valid UTF-8");
  }
}

std::vector<std::string> strip_all(const AsyncFileSystem& fs, const Paths& paths) {
  for (const auto& p : paths.items) validate_path(p);
  std::vector<std::string> out;
  out.reserve(paths.items.size());
  for (const auto& p : paths.items) out.push_back(fs.strip_protocol(p));
  return out;
}

std::string describe(const Paths& paths) {
  if (!paths.is_list && paths.items.size() == 1) return path::escape_for_message(paths.items[0]);
  std::string out = "[";
  for (std::size_t i = 0; i < paths.items.size(); ++i) {
    if (i) out += ", ";
    if (i == 8) {
      out += "... " + std::to_string(paths.items.size() - i) + " more";
      break;
    }
    out += path::escape_for_message(paths.items[i]);
  }
  return out + "]";
}

bool is_kind(const std::exception_ptr& e, ErrorKind kind) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    return err.kind() == kind;
  } catch (...) {
    return false;
  }
}

Task<bool> is_dir_known(AsyncFileSystem* fs, std::string path, std::optional<FileInfo> known) {
  if (known) co_return known->is_dir();
  if (path::has_trailing_slash(path)) co_return true;
  co_return co_await fs->_isdir(std::move(path));
}

}  // namespace detail

}  // namespace asyncfs
