// Tree algorithms: walk, find, glob, du and expand_path.

#include <algorithm>
#include <coroutine>
#include <deque>
#include <exception>
#include <limits>
#include <set>
#include <stop_token>
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
bool omittable(const Error& e, const std::string& path) {
  switch (e.kind()) {
    case ErrorKind::kNotFound:
    case ErrorKind::kPermissionDenied:
    case ErrorKind::kNotADirectory:
      return true;
    case ErrorKind::kInvalidArgument:
      // A name the backend listed but will not take back: a local directory whose name on
      // disk is not UTF-8 (the API speaks UTF-8). It is as unreadable as one without
      // permission, and must not end the walk of everything else.
      return !path::is_valid_utf8(path);
    default:
      return false;
  }
}

// --- the walk: one pool of listings for the whole tree ------------------------------------------
//
// Directories to list go into one queue; at most `limit` workers take them from it, each
// listing one directory at a time and queueing the subdirectories it finds. So the number of
// _ls calls in flight never exceeds the window however deep or wide the tree (a window per
// directory would multiply at every level). The listings are kept as a tree and turned into
// walk order (depth-first, children by name) at the end, so the result is independent of
// the order in which listings complete.
//
// Only the walk coroutine itself starts workers, and a worker resumes the walk only while the
// walk is suspended, so resumptions never nest deeper than worker -> walk -> new worker, even
// when every listing completes synchronously (memory://).

struct WalkState;

/// A worker coroutine: lists queued directories until the queue is empty.
struct WalkWorker {
  struct promise_type : detail::PromiseBase {
    WalkWorker get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    struct Final {
      WalkState* state;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept;
      void await_resume() const noexcept {}
    };
    Final final_suspend() noexcept { return {state}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // the body catches everything
    WalkState* state = nullptr;
    /// Next finished worker: an intrusive list, as Final may not allocate.
    std::coroutine_handle<promise_type> next_finished;
  };
  std::coroutine_handle<promise_type> h;
};

using WorkerHandle = std::coroutine_handle<WalkWorker::promise_type>;

/// Without a maxdepth, a walk that goes deeper than this fails (TooLarge) instead of
/// following a listing that links ever deeper into itself (an HTTP index whose d/ links a
/// deeper d/) until memory runs out.
constexpr int kDefaultMaxDepth = 1024;

/// What makes two directories the same one: device and inode where the backend reports them
/// (local disks, so a symlink back to an ancestor is seen), else the name without its "/".
std::string identity_of(const FileInfo& info) {
  const auto dev = info.extra.find("dev");
  const auto ino = info.extra.find("ino");
  if (dev != info.extra.end() && ino != info.extra.end()) return dev->second + ":" + ino->second;
  return std::string(path::strip_trailing_slash(info.name));
}

/// One directory of the walk.
struct WalkNode {
  std::string path;             // the name to list, as the parent's listing gave it
  std::optional<int> maxdepth;  // levels left including this one; nullopt = unlimited
  std::string identity;         // identity_of() its entry in the parent's listing
  std::size_t parent = 0;       // the root is its own parent
  int depth = 0;
  WalkEntry entry;
  std::vector<std::size_t> children;  // subdirectories to walk, in name order
  std::exception_ptr error;           // a failure on_error does not omit
};

struct WalkState {
  AsyncFileSystem* fs = nullptr;
  OnError on_error = OnError::kOmit;
  std::size_t limit = 0;       // most workers (so listings) at once
  std::deque<WalkNode> nodes;  // a deque: references stay valid while nodes are added
  std::deque<std::size_t> pending;
  std::size_t running = 0;  // live workers
  std::stop_token stop;
  std::exception_ptr start_failure;  // a worker could not be started (no memory)
  std::coroutine_handle<> walk;      // the walk coroutine, while it waits for its workers
  WorkerHandle finished;             // workers to destroy

  /// Whether the waiting walk has something to do: start workers, or finish.
  bool walk_has_work() const {
    if (running == 0) return true;
    return !start_failure && !stop.stop_requested() && !pending.empty() && running < limit;
  }
};

std::coroutine_handle<> WalkWorker::promise_type::Final::await_suspend(
    std::coroutine_handle<promise_type> h) noexcept {
  --state->running;
  h.promise().next_finished = state->finished;
  state->finished = h;
  if (state->walk && state->walk_has_work()) return std::exchange(state->walk, {});
  return std::noop_coroutine();
}

/// Suspends the walk until a worker has finished or more workers may start.
struct WaitForWorkers {
  WalkState* st;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    if (st->walk_has_work()) return false;
    st->walk = h;
    return true;
  }
  void await_resume() const noexcept {}
};

/// Records the listing of node `id` and queues its subdirectories.
void add_listing(WalkState& st, std::size_t id, std::vector<FileInfo> listing) {
  WalkNode& node = st.nodes[id];
  const std::string self(path::strip_trailing_slash(node.path));
  // Children are listed with the name their parent's listing gave them (trailing "/" kept:
  // an HTTP index may 404 on a directory URL without it).
  std::map<std::string, std::string> children;  // basename → name to list
  for (auto& info : listing) {
    const std::string_view pathname = path::strip_trailing_slash(info.name);
    std::string name(path::basename(pathname));
    if (info.is_dir() && pathname != self) {
      children[name] = info.name;
      node.entry.dirs.insert_or_assign(std::move(name), std::move(info));
    } else if (pathname == self) {
      node.entry.files.insert_or_assign("", std::move(info));
    } else {
      node.entry.files.insert_or_assign(std::move(name), std::move(info));
    }
  }
  std::optional<int> below = node.maxdepth;
  if (below) --*below;
  if (below && *below < 1) return;
  if (!below && node.depth >= kDefaultMaxDepth && !children.empty()) {
    throw TooLarge(node.path, "directory tree deeper than " + std::to_string(kDefaultMaxDepth) +
                                  " levels (a listing that links into itself?); pass maxdepth "
                                  "to walk it anyway");
  }
  node.children.reserve(children.size());
  for (auto& kv : children) {
    std::string identity = identity_of(node.entry.dirs.at(kv.first));
    // A directory that is one of its own ancestors (a symlink to "..", a link in an index
    // back up the tree) is listed but not entered again: that would never end.
    bool cycle = false;
    for (std::size_t a = id;; a = st.nodes[a].parent) {
      if (st.nodes[a].identity == identity) {
        cycle = true;
        break;
      }
      if (a == 0) break;
    }
    if (cycle) continue;
    const std::size_t child = st.nodes.size();
    WalkNode& sub = st.nodes.emplace_back();
    sub.path = std::move(kv.second);
    sub.maxdepth = below;
    sub.entry.root = sub.path;
    sub.identity = std::move(identity);
    sub.parent = id;
    sub.depth = st.nodes[id].depth + 1;
    st.nodes[id].children.push_back(child);
    st.pending.push_back(child);
  }
}

/// Lets the waiting walk start more workers when listings are queued and the window has room.
void wake_walk(WalkState& st) {
  if (st.walk && st.walk_has_work()) std::exchange(st.walk, {}).resume();
}

WalkWorker walk_worker(WalkState* st) {
  while (!st->pending.empty() && !st->stop.stop_requested()) {
    const std::size_t id = st->pending.front();
    st->pending.pop_front();
    std::string target = st->nodes[id].path;
    std::vector<FileInfo> listing;
    std::exception_ptr failure;
    bool omitted = false;
    try {
      listing = co_await st->fs->_ls(std::move(target));
    } catch (const Error& e) {
      if (st->on_error == OnError::kOmit && omittable(e, st->nodes[id].path)) {
        omitted = true;  // an empty directory
      } else {
        failure = std::current_exception();
      }
    } catch (...) {
      failure = std::current_exception();
    }
    if (!failure && !omitted) {
      try {
        add_listing(*st, id, std::move(listing));
      } catch (...) {
        failure = std::current_exception();
      }
    }
    st->nodes[id].error = failure;
    wake_walk(*st);
  }
}

/// Starts workers while listings wait and the window has room, and frees finished ones.
void start_workers(WalkState& st) {
  while (!st.start_failure && !st.stop.stop_requested() && !st.pending.empty() &&
         st.running < st.limit) {
    try {
      WalkWorker worker = walk_worker(&st);
      worker.h.promise().state = &st;
      worker.h.promise().set_stop_token(st.stop);
      ++st.running;
      worker.h.resume();  // runs until its first listing suspends (or the queue is empty)
    } catch (...) {
      st.start_failure = std::current_exception();
    }
  }
  while (st.finished) {
    WorkerHandle h = std::exchange(st.finished, st.finished.promise().next_finished);
    h.destroy();
  }
}

/// The entries in walk order: depth-first, subdirectories by name, each directory before
/// (topdown) or after (bottom-up) its subtree. Rethrows the first failure in that order,
/// which is the one a recursive walk would have met first.
std::vector<WalkEntry> walk_order(WalkState& st, bool topdown) {
  std::vector<WalkEntry> out;
  std::vector<std::pair<std::size_t, std::size_t>> stack;  // node, next child
  stack.emplace_back(0, 0);
  while (!stack.empty()) {
    const std::size_t id = stack.back().first;
    const std::size_t next = stack.back().second;
    WalkNode& node = st.nodes[id];
    if (next == 0) {
      if (node.error) std::rethrow_exception(node.error);
      if (topdown) out.push_back(std::move(node.entry));
    }
    if (next < node.children.size()) {
      ++stack.back().second;
      stack.emplace_back(node.children[next], 0);
      continue;
    }
    if (!topdown) out.push_back(std::move(node.entry));
    stack.pop_back();
  }
  return out;
}

// `path` is already stripped.
Task<std::vector<WalkEntry>> walk_tree(AsyncFileSystem* fs, std::string path,
                                       std::optional<int> maxdepth, bool topdown, OnError on_error,
                                       int win) {
  detail::validate_window(win);
  WalkState st;
  st.fs = fs;
  st.on_error = on_error;
  st.limit = win < 0 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(win);
  st.stop = co_await current_stop_token();
  WalkNode& root = st.nodes.emplace_back();
  root.path = path;
  root.maxdepth = maxdepth;
  root.entry.root = path;
  root.identity = path::strip_trailing_slash(path);
  st.pending.push_back(0);
  for (;;) {
    start_workers(st);
    if (st.running == 0) break;
    WaitForWorkers wait{&st};
    co_await wait;
  }
  if (st.start_failure) std::rethrow_exception(st.start_failure);
  // Stopped with directories never listed: the result would be incomplete.
  if (!st.pending.empty()) throw Cancelled(path, "operation cancelled");
  co_return walk_order(st, topdown);
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

  if (!has_magic(p)) {
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

  const std::size_t magic = find_magic(p);
  const auto slash = p.rfind('/', magic == 0 ? std::string::npos : magic - 1);
  std::string root;
  std::size_t after_root = 0;
  if (magic > 0 && slash != std::string::npos && slash < magic) {
    root = p.substr(0, slash + 1);
    after_root = slash + 1;
  }
  // Compile first: an invalid pattern fails before any listing. The root is literal by
  // definition (an IPv6 host's brackets, say), so its characters are matched as themselves.
  std::string whole = path::escape_glob(root) + p.substr(after_root);
  if (ends_with_sep) whole += '/';
  const path::GlobPattern matcher(whole);
  const bool slash_dirs = ends_with_sep || p.ends_with("/**");

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
    if (!literal && fs->has_magic(p)) {
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
