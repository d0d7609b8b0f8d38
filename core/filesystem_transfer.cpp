// Transfers: get/put/copy/mv/rm and the default per-file hooks they are built on.

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <set>
#include <utility>

#include "asyncfs/backends/local.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/file.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/path.hpp"
#include "core/filesystem_detail.hpp"

namespace asyncfs {

namespace {

/// Chunk of the default get_file loop: memory stays bounded by one chunk per transfer.
constexpr std::uint64_t kTransferBlock = 4u << 20;

/// Source → destination pairs of one bulk transfer.
struct Plan {
  std::vector<std::string> src;
  std::vector<std::string> dst;
  std::vector<std::optional<FileInfo>> info;  ///< source info when the expansion knew it
};

/// fsspec's destination mapping for copy/get/put (fsspec.md §1.6). Paths are stripped by the
/// filesystem they belong to; trailing slashes are read on the caller's unstripped strings.
Task<Plan> plan_transfer(AsyncFileSystem* src_fs, AsyncFileSystem* dst_fs, Paths src, Paths dst,
                         bool recursive, std::optional<int> maxdepth) {
  Plan plan;
  if (src.is_list && dst.is_list) {
    // Two lists pair up 1:1 without any expansion.
    if (src.items.size() != dst.items.size()) {
      throw InvalidArgument(detail::describe(dst),
                            "source and destination lists differ in length (" +
                                std::to_string(src.items.size()) + " vs " +
                                std::to_string(dst.items.size()) + ")");
    }
    plan.src = detail::strip_all(*src_fs, src);
    plan.dst = detail::strip_all(*dst_fs, dst);
    plan.info.resize(plan.src.size());
    co_return plan;
  }
  if (dst.items.size() != 1 && !dst.is_list) {
    throw InvalidArgument(detail::describe(dst), "expected one destination");
  }

  const bool source_is_str = !src.is_list;
  auto expanded = co_await detail::expand_detail(src_fs, detail::strip_all(*src_fs, src), recursive,
                                                 maxdepth, /*literal=*/false);
  if (expanded.empty()) throw NotFound(detail::describe(src), "no such file or directory");
  for (auto& [name, info] : expanded) {
    // Without recursion a string source copies files only, never directories.
    if (source_is_str && (!recursive || maxdepth) &&
        co_await detail::is_dir_known(src_fs, name, info)) {
      continue;
    }
    plan.src.push_back(name);
    plan.info.push_back(std::move(info));
  }
  if (plan.src.empty()) co_return plan;

  if (dst.is_list) {
    if (dst.items.size() != plan.src.size()) {
      throw InvalidArgument(detail::describe(dst),
                            "the destination list has " + std::to_string(dst.items.size()) +
                                " entries for " + std::to_string(plan.src.size()) + " sources");
    }
    plan.dst = detail::strip_all(*dst_fs, dst);
    co_return plan;
  }

  const std::string& raw_src = src.items.front();
  const std::string& raw_dst = dst.items.front();
  std::string dest = dst_fs->strip_protocol(raw_dst);
  bool exists = false;
  if (source_is_str) {
    const bool magic = src_fs->has_magic(raw_src);
    if (magic) {
      exists = plan.src.size() == 1;
    } else if (!path::has_trailing_slash(raw_src)) {
      exists = path::has_trailing_slash(raw_dst) || co_await dst_fs->_isdir(dest);
    }
  }
  plan.dst = path::other_paths(plan.src, std::move(dest), exists, /*flatten=*/!source_is_str);
  co_return plan;
}

bool is_dir_entry(const std::string& name, const std::optional<FileInfo>& info) {
  return (info && info->is_dir()) || path::has_trailing_slash(name);
}

/// Directories of `paths` that must exist before files land there, shallow first.
std::vector<std::string> parents_of(const std::vector<std::string>& paths,
                                    const std::set<std::string>& already) {
  std::set<std::string> out;
  for (const auto& p : paths) {
    std::string dir = path::parent(p);
    if (!dir.empty() && dir != "/" && !already.contains(dir)) out.insert(std::move(dir));
  }
  return {out.begin(), out.end()};
}

/// Creates directories on a store that has real ones; implied-directory stores skip this.
Task<void> make_dirs(AsyncFileSystem* fs, std::vector<std::string> dirs) {
  if (!fs->capabilities().real_directories) co_return;
  for (auto& d : dirs) {
    co_await throw_if_stopped("makedirs " + d);
    co_await fs->_makedirs(std::move(d), /*exist_ok=*/true);
  }
}

/// First failure in input order that `on_error` does not excuse, or null.
struct FailureTracker {
  OnError on_error;
  std::size_t at = static_cast<std::size_t>(-1);
  std::exception_ptr error;

  void record(std::size_t i, const std::exception_ptr& e) {
    if (on_error == OnError::kOmit) return;
    if (on_error == OnError::kIgnore && detail::is_kind(e, ErrorKind::kNotFound)) return;
    if (i < at) {
      at = i;
      error = e;
    }
  }
  void raise() const {
    if (error) std::rethrow_exception(error);
  }
};

/// Runs `hook(i)` for every file of a transfer through the window, with progress and branches.
template <class Make>
Task<void> transfer_files(std::size_t n, Make make, int win, Callback* progress, OnError on_error) {
  if (progress) progress->set_size(n);
  FailureTracker failures{on_error};
  GatherOptions gopts;
  gopts.batch_size = win;
  gopts.progress = progress;
  co_await gather_each<void>(
      n, std::move(make),
      [&failures](std::size_t i, Outcome<void>&& out) {
        if (out.has_error()) {
          failures.record(i, out.error());
        } else if (out.empty()) {
          failures.record(i, std::make_exception_ptr(Cancelled("", "transfer did not run")));
        }
      },
      gopts);
  failures.raise();
}

std::unique_ptr<Callback> branch_for(Callback* progress, const std::string& src,
                                     const std::string& dst) {
  return progress ? progress->branch(src, dst) : nullptr;
}

/// Creates what the destination needs before files land there (the source directories and
/// the parents of files, shallow first) and returns the plan indices of the files.
/// \param probe_unknown ask `src_fs` about sources without info (cheap only for local disk).
Task<std::vector<std::size_t>> make_destination_dirs(const Plan* plan, AsyncFileSystem* src_fs,
                                                     AsyncFileSystem* dst_fs, bool probe_unknown) {
  std::vector<std::string> dirs;
  std::vector<std::size_t> files;
  for (std::size_t i = 0; i < plan->src.size(); ++i) {
    bool is_dir = is_dir_entry(plan->src[i], plan->info[i]);
    if (!is_dir && probe_unknown) {
      is_dir = co_await detail::is_dir_known(src_fs, plan->src[i], plan->info[i]);
    }
    if (is_dir) {
      dirs.push_back(plan->dst[i]);
    } else {
      files.push_back(i);
    }
  }
  std::set<std::string> made(dirs.begin(), dirs.end());
  std::vector<std::string> targets;
  for (auto i : files) targets.push_back(plan->dst[i]);
  auto parents = parents_of(targets, made);
  parents.insert(parents.end(), dirs.begin(), dirs.end());
  std::sort(parents.begin(), parents.end());
  co_await make_dirs(dst_fs, std::move(parents));
  co_return files;
}

}  // namespace

// --- get / put -----------------------------------------------------------------------------------

Task<void> AsyncFileSystem::_get(Paths rpaths, Paths lpaths, TransferOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "get");
  auto local = local::local_filesystem(io_ptr());
  Plan plan = co_await plan_transfer(this, local.get(), std::move(rpaths), std::move(lpaths),
                                     opts.recursive, opts.maxdepth);
  if (plan.src.empty()) co_return;

  const std::vector<std::size_t> files =
      co_await make_destination_dirs(&plan, this, local.get(), /*probe_unknown=*/false);

  std::vector<std::unique_ptr<Callback>> branches(files.size());
  co_await transfer_files(
      files.size(),
      [&](std::size_t k) {
        const std::size_t i = files[k];
        branches[k] = branch_for(opts.progress, plan.src[i], plan.dst[i]);
        return _get_file(plan.src[i], plan.dst[i], branches[k].get());
      },
      window(opts.batch_size, /*nofiles=*/false), opts.progress,
      opts.on_error.value_or(OnError::kRaise));
}

Task<void> AsyncFileSystem::_put(Paths lpaths, Paths rpaths, TransferOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "put");
  auto local = local::local_filesystem(io_ptr());
  Plan plan = co_await plan_transfer(local.get(), this, std::move(lpaths), std::move(rpaths),
                                     opts.recursive, opts.maxdepth);
  if (plan.src.empty()) co_return;

  const std::vector<std::size_t> files =
      co_await make_destination_dirs(&plan, local.get(), this, /*probe_unknown=*/true);

  std::vector<std::unique_ptr<Callback>> branches(files.size());
  co_await transfer_files(
      files.size(),
      [&](std::size_t k) {
        const std::size_t i = files[k];
        branches[k] = branch_for(opts.progress, plan.src[i], plan.dst[i]);
        return _put_file(plan.src[i], plan.dst[i], branches[k].get(), WriteMode::kOverwrite);
      },
      window(opts.batch_size, /*nofiles=*/false), opts.progress,
      opts.on_error.value_or(OnError::kRaise));
}

// --- copy / mv / rm ------------------------------------------------------------------------------

Task<void> AsyncFileSystem::_copy(Paths path1, Paths path2, TransferOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "copy");
  // fsspec: a recursive copy skips sources that vanish between listing and copying.
  const OnError on_error =
      opts.on_error.value_or(opts.recursive ? OnError::kIgnore : OnError::kRaise);
  Plan plan = co_await plan_transfer(this, this, std::move(path1), std::move(path2), opts.recursive,
                                     opts.maxdepth);
  if (plan.src.empty()) co_return;

  const std::vector<std::size_t> files =
      co_await make_destination_dirs(&plan, this, this, /*probe_unknown=*/false);

  co_await transfer_files(
      files.size(), [&](std::size_t k) { return _cp_file(plan.src[files[k]], plan.dst[files[k]]); },
      window(opts.batch_size, /*nofiles=*/true), opts.progress, on_error);
}

Task<void> AsyncFileSystem::_mv(Paths path1, Paths path2, TransferOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "mv");
  if (path1.is_list == path2.is_list && path1.items == path2.items) co_return;
  Plan plan = co_await plan_transfer(this, this, std::move(path1), std::move(path2), opts.recursive,
                                     opts.maxdepth);
  if (plan.src.empty()) co_return;

  std::vector<std::string> src_dirs;
  std::vector<std::string> dst_dirs;
  std::vector<std::size_t> files;
  for (std::size_t i = 0; i < plan.src.size(); ++i) {
    if (is_dir_entry(plan.src[i], plan.info[i])) {
      src_dirs.push_back(plan.src[i]);
      dst_dirs.push_back(plan.dst[i]);
    } else {
      files.push_back(i);
    }
  }
  std::set<std::string> made(dst_dirs.begin(), dst_dirs.end());
  std::vector<std::string> targets;
  for (auto i : files) targets.push_back(plan.dst[i]);
  auto parents = parents_of(targets, made);
  parents.insert(parents.end(), dst_dirs.begin(), dst_dirs.end());
  std::sort(parents.begin(), parents.end());
  co_await make_dirs(this, std::move(parents));

  co_await transfer_files(
      files.size(), [&](std::size_t k) { return _mv_file(plan.src[files[k]], plan.dst[files[k]]); },
      window(opts.batch_size, /*nofiles=*/true), opts.progress, OnError::kRaise);

  // The moved directories are empty now; remove them children first.
  std::sort(src_dirs.begin(), src_dirs.end(), std::greater<>());
  for (auto& d : src_dirs) {
    co_await throw_if_stopped("mv " + d);
    try {
      co_await _rmdir(d);
    } catch (const NotFound&) {
    }
  }
}

Task<void> AsyncFileSystem::_rm(Paths paths, RmOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "rm");
  auto expanded = co_await detail::expand_detail(this, detail::strip_all(*this, paths),
                                                 opts.recursive, opts.maxdepth,
                                                 /*literal=*/false);
  if (expanded.empty()) throw NotFound(detail::describe(paths), "no such file or directory");
  std::vector<std::string> files;
  std::vector<std::string> dirs;
  for (auto& [name, info] : expanded) {
    (is_dir_entry(name, info) ? dirs : files).push_back(name);
  }

  GatherOptions gopts;
  gopts.batch_size = window(opts.batch_size, /*nofiles=*/true);
  auto outs = co_await gather<void>(
      files.size(), [this, &files](std::size_t i) { return _rm_file(files[i]); }, gopts);
  detail::raise_first(outs);

  // Deepest first: a directory is removed only after everything below it.
  std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
    const auto da = std::count(a.begin(), a.end(), '/');
    const auto db = std::count(b.begin(), b.end(), '/');
    return da != db ? da > db : a > b;
  });
  for (auto& d : dirs) {
    co_await throw_if_stopped("rm " + d);
    co_await _rmdir(d);
  }
}

// --- default per-file hooks ----------------------------------------------------------------------

Task<void> AsyncFileSystem::_get_file(std::string rpath, std::string lpath, Callback* progress) {
  auto local = local::local_filesystem(io_ptr());
  FileInfo info = co_await _info(rpath);
  if (info.is_dir()) {
    co_await local->_makedirs(std::move(lpath), /*exist_ok=*/true);
    co_return;
  }
  // The local "wb" file writes a temporary and renames it on close, so the final name appears
  // only when every chunk arrived; on failure the file object is dropped unclosed.
  // Like fsspec, the local parent directory is created on demand.
  co_await local->_makedirs(local->parent(lpath), /*exist_ok=*/true);
  OpenOptions oopts;
  auto out = co_await local->_open(lpath, "wb", std::move(oopts));
  if (progress) progress->set_size(info.size);
  if (info.size) {
    std::uint64_t offset = 0;
    while (offset < *info.size) {
      co_await throw_if_stopped("get_file " + rpath);
      const std::uint64_t end = std::min(*info.size, offset + kTransferBlock);
      Bytes chunk = co_await _cat_file(rpath, static_cast<std::int64_t>(offset),
                                       static_cast<std::int64_t>(end));
      if (chunk.empty()) {
        throw ProtocolError(rpath, "file shrank while downloading: got " + std::to_string(offset) +
                                       " of " + std::to_string(*info.size) + " bytes");
      }
      const std::size_t got = chunk.size();
      offset += got;
      co_await out->write(std::move(chunk));
      if (progress) progress->relative_update(got);
    }
  } else {
    // Size unknown: no ranges to ask for, one whole read.
    Bytes all = co_await _cat_file(rpath, std::nullopt, std::nullopt);
    const std::size_t got = all.size();
    co_await out->write(std::move(all));
    if (progress) progress->relative_update(got);
  }
  co_await out->close();
}

// Reads the whole local file into memory before one _pipe_file: right for small files and for
// stores that take an object in one request. Backends with streaming or multipart uploads
// override this hook.
Task<void> AsyncFileSystem::_put_file(std::string lpath, std::string rpath, Callback* progress,
                                      WriteMode mode) {
  auto local = local::local_filesystem(io_ptr());
  FileInfo linfo = co_await local->_info(lpath);
  if (linfo.is_dir()) {
    co_await _makedirs(std::move(rpath), /*exist_ok=*/true);
    co_return;
  }
  OpenOptions oopts;
  oopts.size = linfo.size;
  auto in = co_await local->_open(lpath, "rb", std::move(oopts));
  Bytes data = co_await in->read(-1);
  co_await in->close();
  const std::size_t n = data.size();
  if (progress) progress->set_size(n);
  co_await _pipe_file(std::move(rpath), std::move(data), mode);
  if (progress) progress->relative_update(n);
}

Task<void> AsyncFileSystem::_mv_file(std::string path1, std::string path2) {
  co_await _cp_file(path1, std::move(path2));
  co_await _rm_file(std::move(path1));
}

// A token of the metadata, not of the contents: it changes when name, size, mtime or etag do.
Task<std::string> AsyncFileSystem::_checksum(std::string path) {
  FileInfo info = co_await _info(std::move(path));
  std::string text = info.name;
  text += '\0';
  text += info.size ? std::to_string(*info.size) : std::string("?");
  text += '\0';
  if (info.mtime) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9f", *info.mtime);
    text += buf;
  }
  text += '\0';
  if (info.etag) text += *info.etag;
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  co_return std::string(hex);
}

}  // namespace asyncfs
