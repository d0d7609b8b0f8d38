// Tree algorithms: walk, find, glob, du and expand_path.

#include <algorithm>
#include <set>
#include <utility>

#include "asyncfs/errors.hpp"
#include "asyncfs/filesystem.hpp"
#include "asyncfs/gather.hpp"
#include "asyncfs/path.hpp"
#include "core/filesystem_detail.hpp"

namespace asyncfs {

namespace {

// Failures that mean "this directory cannot be listed" rather than "the service is broken":
// on_error=omit turns them into an empty directory, the rest always propagate.
bool omittable(ErrorKind kind) {
  return kind == ErrorKind::kNotFound || kind == ErrorKind::kPermissionDenied ||
         kind == ErrorKind::kNotADirectory;
}

// `path` is already stripped. Children are listed with the name their parent's listing gave
// them (trailing "/" kept: an HTTP index may 404 on a directory URL without it), and sibling
// subtrees are listed concurrently through the window.
Task<std::vector<WalkEntry>> walk_tree(AsyncFileSystem* fs, std::string path,
                                       std::optional<int> maxdepth, bool topdown, OnError on_error,
                                       int win) {
  std::vector<FileInfo> listing;
  bool failed = false;
  try {
    listing = co_await fs->_ls(path);
  } catch (const Error& e) {
    if (on_error == OnError::kRaise || !omittable(e.kind())) throw;
    failed = true;
  }
  WalkEntry entry;
  entry.root = path;
  if (failed) co_return std::vector<WalkEntry>{std::move(entry)};

  const std::string self(path::strip_trailing_slash(path));
  std::map<std::string, std::string> children;  // basename → name to list
  for (auto& info : listing) {
    const std::string_view pathname = path::strip_trailing_slash(info.name);
    std::string name(path::basename(pathname));
    if (info.is_dir() && pathname != self) {
      children[name] = info.name;
      entry.dirs.insert_or_assign(std::move(name), std::move(info));
    } else if (pathname == self) {
      entry.files.insert_or_assign("", std::move(info));
    } else {
      entry.files.insert_or_assign(std::move(name), std::move(info));
    }
  }

  std::vector<WalkEntry> out;
  if (topdown) out.push_back(std::move(entry));
  if (maxdepth) --*maxdepth;
  if (!maxdepth || *maxdepth >= 1) {
    std::vector<std::string> dirs;
    dirs.reserve(children.size());
    for (auto& kv : children) dirs.push_back(std::move(kv.second));
    GatherOptions gopts;
    gopts.batch_size = win;
    auto subs = co_await gather<std::vector<WalkEntry>>(
        dirs.size(),
        [&](std::size_t i) { return walk_tree(fs, dirs[i], maxdepth, topdown, on_error, win); },
        gopts);
    for (auto& sub : subs) {
      for (auto& e : std::move(sub).value()) out.push_back(std::move(e));
    }
  }
  if (!topdown) out.push_back(std::move(entry));
  co_return out;
}

}  // namespace

Task<std::vector<WalkEntry>> AsyncFileSystem::_walk(std::string path, WalkOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "walk");
  std::string root = strip_protocol(path);
  co_return co_await walk_tree(this, std::move(root), opts.maxdepth, opts.topdown, opts.on_error,
                               window(std::nullopt, /*nofiles=*/true));
}

Task<std::map<std::string, FileInfo>> AsyncFileSystem::_find(std::string path, FindOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "find");
  const std::string root = strip_protocol(path);
  std::map<std::string, FileInfo> out;

  std::optional<FileInfo> self_info;
  bool self_looked_up = false;
  if (opts.withdirs && !root.empty()) {
    // The root itself is part of a glob's candidates ("dir/**" matches "dir/").
    try {
      self_info = co_await _info(root);
    } catch (const NotFound&) {
    }
    self_looked_up = true;
    if (self_info && self_info->is_dir()) out.insert_or_assign(root, *self_info);
  }

  auto entries = co_await walk_tree(this, root, opts.maxdepth, true, OnError::kOmit,
                                    window(std::nullopt, /*nofiles=*/true));
  for (auto& e : entries) {
    for (auto& kv : e.files) out.insert_or_assign(kv.second.name, std::move(kv.second));
    if (opts.withdirs) {
      for (auto& kv : e.dirs) out.insert_or_assign(kv.second.name, std::move(kv.second));
    }
  }

  if (out.empty()) {
    // walk lists directories; find of a file gives the file (with its real info).
    if (!self_looked_up) {
      try {
        self_info = co_await _info(root);
      } catch (const NotFound&) {
      }
    }
    if (self_info && self_info->is_file()) out.insert_or_assign(root, *self_info);
  }

  if (!opts.prefix.empty()) {
    const std::string want = path::join(root, opts.prefix);
    std::erase_if(out, [&want](const auto& kv) { return !kv.first.starts_with(want); });
  }
  co_return out;
}

Task<std::map<std::string, FileInfo>> AsyncFileSystem::_glob(std::string pattern,
                                                             GlobOptions opts) {
  detail::check_maxdepth(opts.maxdepth, "glob");
  const bool ends_with_sep = path::has_trailing_slash(pattern);
  const std::string p = strip_protocol(pattern);
  std::map<std::string, FileInfo> out;

  if (!path::has_magic(p)) {
    try {
      FileInfo info = co_await _info(p);
      // A trailing "/" asks for directories only.
      if ((!ends_with_sep || info.is_dir()) && (opts.withdirs || !info.is_dir())) {
        out.insert_or_assign(p, std::move(info));
      }
    } catch (const NotFound&) {
    }
    co_return out;
  }

  // Compile first: an invalid pattern fails before any listing.
  const path::GlobPattern matcher(ends_with_sep ? p + "/" : p);
  const bool slash_dirs = ends_with_sep || p.ends_with("/**");

  const std::size_t magic = p.find_first_of("*?[");
  const auto slash = p.rfind('/', magic == 0 ? std::string::npos : magic - 1);
  std::string root;
  std::size_t after_root = 0;
  if (magic > 0 && slash != std::string::npos && slash < magic) {
    root = p.substr(0, slash + 1);
    after_root = slash + 1;
  }
  std::optional<int> depth;
  {
    const auto tail = std::string_view(p).substr(after_root);
    depth = static_cast<int>(std::count(tail.begin(), tail.end(), '/')) + 1;
  }
  if (const auto dstar = p.find("**"); dstar != std::string::npos) {
    if (opts.maxdepth) {
      const auto tail = std::string_view(p).substr(dstar);
      const int below = static_cast<int>(std::count(tail.begin(), tail.end(), '/')) + 1;
      depth = *depth - below + *opts.maxdepth;
      if (*depth < 1) depth = 1;
    } else {
      depth.reset();
    }
  }

  FindOptions fopts;
  fopts.maxdepth = depth;
  fopts.withdirs = true;
  // The literal stem between the root and the first wildcard lets a backend filter listings.
  fopts.prefix = p.substr(after_root, magic - after_root);
  if (root.empty()) root = root_marker();
  auto candidates = co_await _find(std::move(root), std::move(fopts));

  for (auto& [name, info] : candidates) {
    if (!opts.withdirs && info.is_dir()) continue;
    // Names are compared without any trailing "/" (HTTP directory URLs carry one), then
    // directories get one back when the pattern asks for it.
    std::string candidate(path::strip_trailing_slash(name));
    if (slash_dirs && info.is_dir() && !path::has_trailing_slash(candidate)) candidate += '/';
    if (matcher.match(candidate)) out.insert_or_assign(name, std::move(info));
  }
  co_return out;
}

Task<std::map<std::string, std::uint64_t>> AsyncFileSystem::_du(std::string path, DuOptions opts) {
  FindOptions fopts;
  fopts.maxdepth = opts.maxdepth;
  fopts.withdirs = opts.withdirs;
  auto found = co_await _find(std::move(path), std::move(fopts));
  std::map<std::string, std::uint64_t> sizes;
  std::vector<std::string> unknown;
  for (const auto& [name, info] : found) {
    if (info.is_dir()) {
      sizes[name] = 0;  // a directory's own size, never its contents
    } else if (info.size) {
      sizes[name] = *info.size;
    } else {
      unknown.push_back(name);
    }
  }
  if (!unknown.empty()) {
    // A listing may not know sizes (HTTP indexes); ask once more, unknown stays 0.
    auto more = co_await _sizes(unknown, std::nullopt);
    for (std::size_t i = 0; i < unknown.size(); ++i) sizes[unknown[i]] = more[i].value_or(0);
  }
  co_return sizes;
}

Task<std::vector<std::string>> AsyncFileSystem::_expand_path(Paths paths, bool recursive,
                                                             std::optional<int> maxdepth) {
  detail::check_maxdepth(maxdepth, "expand_path");
  auto items = detail::strip_all(*this, paths);
  auto expanded = co_await detail::expand_detail(this, std::move(items), recursive, maxdepth,
                                                 /*literal=*/false);
  if (expanded.empty()) throw NotFound(detail::describe(paths), "no such file or directory");
  std::vector<std::string> names;
  names.reserve(expanded.size());
  for (auto& kv : expanded) names.push_back(kv.first);
  co_return names;
}

namespace detail {

Task<InfoMap> expand_detail(AsyncFileSystem* fs, std::vector<std::string> items, bool recursive,
                            std::optional<int> maxdepth, bool literal) {
  InfoMap out;
  for (auto& p : items) {
    if (!literal && path::has_magic(p)) {
      GlobOptions gopts;
      gopts.maxdepth = maxdepth;
      gopts.withdirs = true;
      auto matched = co_await fs->_glob(p, gopts);
      std::vector<std::string> names;
      for (auto& [name, info] : matched) {
        names.push_back(name);
        out.insert_or_assign(name, std::move(info));
      }
      // The glob already went one level; expand its matches below that, taking their names
      // literally (a matched name may itself contain '[' or '?').
      if (recursive && !(maxdepth && *maxdepth <= 1) && !names.empty()) {
        auto deeper = co_await expand_detail(
            fs, std::move(names), true, maxdepth ? std::optional<int>(*maxdepth - 1) : maxdepth,
            /*literal=*/true);
        for (auto& kv : deeper) {
          if (kv.second || !out.contains(kv.first)) out.insert_or_assign(kv.first, kv.second);
        }
      }
      continue;
    }
    if (recursive) {
      FindOptions fopts;
      fopts.maxdepth = maxdepth;
      fopts.withdirs = true;
      auto found = co_await fs->_find(p, std::move(fopts));
      for (auto& [name, info] : found) out.insert_or_assign(name, std::move(info));
    }
    if (!out.contains(p)) {
      if (!recursive) {
        out.emplace(p, std::nullopt);  // a literal path is taken without checking it exists
      } else {
        std::optional<FileInfo> info;
        try {
          info = co_await fs->_info(p);
        } catch (const NotFound&) {
        }
        if (info) out.emplace(p, std::move(info));
      }
    }
  }
  co_return out;
}

}  // namespace detail

}  // namespace asyncfs
