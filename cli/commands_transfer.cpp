// get, put, cp, mv: sources followed by one destination, mapped onto one filesystem call so
// the library's destination rules (fsspec's copying semantics) apply unchanged. cp and mv
// between two filesystems become get and/or put (copy_across).

#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "asyncfs/errors.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/path.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace asyncfs::cli {

namespace {

// One source stays a string (it may be a glob or a directory to copy); several become a
// list, which the library copies "into" the destination by basename.
Paths as_paths(std::vector<std::string> items) {
  if (items.size() == 1) return Paths(std::move(items.front()));
  return Paths(std::move(items));
}

TransferOptions transfer_options(const TransferArgs& args, Progress& progress) {
  if (args.batch_size && (*args.batch_size == 0 || *args.batch_size < -1)) {
    throw UsageError("--batch-size must be -1 (unbounded) or at least 1");
  }
  TransferOptions opts;
  opts.recursive = args.recursive;
  opts.maxdepth = args.maxdepth;
  opts.batch_size = args.batch_size;
  opts.progress = progress.callback();
  return opts;
}

// Names the argument an error is about: the one whose path the error carries, otherwise the
// first source (the error text then names the child path itself).
void report_transfer_error(const std::vector<Target>& named, const std::exception_ptr& e) {
  const Target* best = &named.front();
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    for (const auto& t : named) {
      if (path::strip_trailing_slash(t.path) == path::strip_trailing_slash(err.path())) {
        best = &t;
        break;
      }
    }
  } catch (...) {
  }
  report_error(best->url, best->path, e);
}

// Runs one transfer with a progress bar; returns the exit code.
template <class Fn>
int run_transfer(const char* label, const GlobalArgs& global, const std::vector<Target>& named,
                 const TransferArgs& args, Fn&& fn) {
  Progress progress(progress_wanted(global.progress), label);
  const TransferOptions opts = transfer_options(args, progress);
  progress.start();
  try {
    fn(opts);
  } catch (...) {
    progress.finish();
    report_transfer_error(named, std::current_exception());
    return kExitFailed;
  }
  progress.finish();
  return kExitOk;
}

std::shared_ptr<AsyncFileSystem> one_filesystem(const std::vector<Target>& targets,
                                                std::string_view command, std::string_view hint) {
  for (const auto& t : targets) {
    if (t.fs->protocol() != targets.front().fs->protocol()) {
      throw UsageError(fmt::format("{}: {} and {} are on different filesystems ({} and {}){}",
                                   command, one_line(targets.front().url), one_line(t.url),
                                   targets.front().fs->protocol(), t.fs->protocol(), hint));
    }
  }
  return targets.front().fs;
}

}  // namespace

int run_get(const TransferArgs& args, const GlobalArgs& global) {
  auto [sources, dest] = split_destination(args.paths, "get");
  std::vector<Target> named;
  std::vector<std::string> rpaths;
  for (const auto& s : sources) {
    named.push_back(resolve(s, /*keep_trailing_slash=*/true));
    rpaths.push_back(named.back().path);
  }
  const auto fs = one_filesystem(named, "get", "; run one get per filesystem");
  const std::string lpath = local_path(dest, "destination of get");
  named.push_back(Target{dest, nullptr, lpath});
  return run_transfer("get", global, named, args, [&](const TransferOptions& opts) {
    fs->get(as_paths(rpaths), Paths(lpath), opts);
  });
}

int run_put(const TransferArgs& args, const GlobalArgs& global) {
  auto [sources, dest] = split_destination(args.paths, "put");
  std::vector<Target> named;
  std::vector<std::string> lpaths;
  for (const auto& s : sources) {
    lpaths.push_back(local_path(s, "source of put"));
    named.push_back(Target{s, nullptr, lpaths.back()});
  }
  Target remote = resolve(dest, /*keep_trailing_slash=*/true);
  const auto fs = remote.fs;
  const std::string rpath = remote.path;
  named.push_back(std::move(remote));
  return run_transfer("put", global, named, args, [&](const TransferOptions& opts) {
    fs->put(as_paths(lpaths), Paths(rpath), opts);
  });
}

namespace {

/// \brief cp between two filesystems. With a local side it is get or put (streamed to or from
/// the local file, never whole in memory). Between two remote filesystems each source is got
/// into a temporary local directory under its own name and put from there, so the library's
/// destination rules apply as for put; memory stays bounded, disk holds one copy meanwhile.
void copy_across(AsyncFileSystem& src, const std::vector<std::string>& paths, AsyncFileSystem& dst,
                 const std::string& dpath, const TransferOptions& opts) {
  if (is_local(dst)) {
    src.get(as_paths(paths), Paths(dpath), opts);
    return;
  }
  if (is_local(src)) {
    dst.put(as_paths(paths), Paths(dpath), opts);
    return;
  }
  std::error_code ec;
  std::string tmpl = (std::filesystem::temp_directory_path(ec) / "asyncfs-cp-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw IoError(tmpl, "cannot make a temporary directory for the copy");
  }
  const std::string tmp = tmpl;
  try {
    std::vector<std::string> staged;
    for (const auto& p : paths) {
      std::string base(path::basename(path::strip_trailing_slash(p)));
      if (base.empty()) base = "root";
      staged.push_back(tmp + "/" + base);
      src.get(Paths(p), Paths(staged.back()), opts);
    }
    dst.put(as_paths(staged), Paths(dpath), opts);
  } catch (...) {
    std::filesystem::remove_all(tmp, ec);
    throw;
  }
  std::filesystem::remove_all(tmp, ec);
}

int copy_or_move(const TransferArgs& args, const GlobalArgs& global, bool move) {
  const char* command = move ? "mv" : "cp";
  auto [sources, dest] = split_destination(args.paths, command);
  std::vector<Target> named;
  std::vector<std::string> paths;
  for (const auto& s : sources) {
    named.push_back(resolve(s, /*keep_trailing_slash=*/true));
    paths.push_back(named.back().path);
  }
  named.push_back(resolve(dest, /*keep_trailing_slash=*/true));
  const std::string dpath = named.back().path;
  std::vector<Target> src_targets(named.begin(), named.end() - 1);
  const auto src_fs = one_filesystem(src_targets, command, "; run one command per filesystem");
  const auto dst_fs = named.back().fs;
  if (src_fs->protocol() != dst_fs->protocol()) {
    return run_transfer(command, global, named, args, [&](const TransferOptions& opts) {
      copy_across(*src_fs, paths, *dst_fs, dpath, opts);
      if (move) {
        RmOptions ro;
        ro.recursive = opts.recursive;
        src_fs->rm(as_paths(paths), ro);
      }
    });
  }
  const auto fs = src_fs;
  return run_transfer(command, global, named, args, [&](const TransferOptions& opts) {
    if (move) {
      fs->mv(as_paths(paths), Paths(dpath), opts);
    } else {
      fs->copy(as_paths(paths), Paths(dpath), opts);
    }
  });
}

}  // namespace

int run_cp(const TransferArgs& args, const GlobalArgs& global) {
  return copy_or_move(args, global, false);
}

int run_mv(const TransferArgs& args, const GlobalArgs& global) {
  return copy_or_move(args, global, true);
}

}  // namespace asyncfs::cli
