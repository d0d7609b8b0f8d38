// memory:// — an in-process filesystem kept in a sorted map behind one mutex.
//
// Every hook completes synchronously (it never suspends): the work is a few map operations
// under the store's mutex. The mutex is needed although all hooks of one instance run on one
// IoThread, because a store can be shared by instances bound to different IoThreads.
//
// Layout of the store: one std::map from the normalized path ("/a/b") to an Entry. Every
// ancestor of an entry is itself a directory entry (writes create missing parents), so empty
// directories exist, removing a file leaves its directory, and the direct children of a
// directory are the keys that start with "<dir>/" and contain no further "/". The root "/" is
// implicit and always exists.

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asyncfs/backends/memory.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/path.hpp"
#include "asyncfs/slice.hpp"

namespace asyncfs::memory {
namespace {

constexpr std::string_view kProtocol = "memory";
constexpr std::string_view kPrefix = "memory://";

double now_seconds() {
  using std::chrono::duration;
  return duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Entry {
  bool is_dir = false;
  /// Immutable contents, shared: cp_file is O(1) and readers slice outside the lock.
  std::shared_ptr<const Bytes> data;
  double mtime = 0;
};

struct Store {
  std::mutex mu;
  std::map<std::string, Entry, std::less<>> entries;
  Entry root{true, nullptr, now_seconds()};
};

std::shared_ptr<Store>& shared_store_slot() {
  static auto* slot = new std::shared_ptr<Store>(std::make_shared<Store>());
  return *slot;
}
std::mutex& shared_store_mutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

std::shared_ptr<Store> shared_store() {
  std::lock_guard lock(shared_store_mutex());
  return shared_store_slot();
}

/// "<dir>/" for a directory path: the prefix of every key below it.
std::string child_prefix(std::string_view dir) {
  return dir == "/" ? std::string("/") : std::string(dir) + "/";
}

/// Ancestors of `p` from the top, excluding the root and `p` itself: "/a/b/c" → "/a", "/a/b".
std::vector<std::string_view> ancestors(std::string_view p) {
  std::vector<std::string_view> out;
  for (std::size_t i = p.find('/', 1); i != std::string_view::npos; i = p.find('/', i + 1)) {
    out.push_back(p.substr(0, i));
  }
  return out;
}

FileInfo make_info(std::string name, const Entry& e) {
  FileInfo info;
  info.name = std::move(name);
  info.type = e.is_dir ? FileType::kDirectory : FileType::kFile;
  info.size = e.is_dir ? 0 : e.data->size();
  info.mtime = e.mtime;
  return info;
}

class MemoryFileSystem final : public AsyncFileSystem {
 public:
  MemoryFileSystem(FsBaseOptions base, std::shared_ptr<Store> store)
      : AsyncFileSystem(std::move(base)), store_(std::move(store)) {}

  std::string protocol() const override { return std::string(kProtocol); }
  Capabilities capabilities() const override {
    Capabilities caps;
    caps.modified_time = true;
    return caps;
  }
  std::string root_marker() const override { return "/"; }

  /// "memory://a/b", "/a/b/", "a//b" → "/a/b"; "memory://" and "/" → "/".
  std::string strip_protocol(std::string_view path) const override {
    const std::string original(path);
    if (path.empty()) throw InvalidArgument(original, "empty path");
    if (path.starts_with(kPrefix)) {
      path.remove_prefix(kPrefix.size());
    } else if (path.find("://") != std::string_view::npos) {
      throw InvalidArgument(path::escape_for_message(original), "not a memory:// path");
    }
    if (!path::is_valid_utf8(path)) {
      throw InvalidArgument(path::escape_for_message(original), "path is not valid UTF-8");
    }
    if (path.find('\0') != std::string_view::npos) {
      throw InvalidArgument(path::escape_for_message(original), "path contains a NUL byte");
    }
    std::string out;
    out.reserve(path.size() + 1);
    for (std::size_t i = 0; i < path.size();) {
      while (i < path.size() && path[i] == '/') ++i;
      const std::size_t j = std::min(path.find('/', i), path.size());
      if (j > i) {
        out += '/';
        out.append(path.substr(i, j - i));
      }
      i = j;
    }
    return out.empty() ? std::string("/") : out;
  }

  Task<std::vector<FileInfo>> _ls(std::string path) override {
    path = strip_protocol(path);
    std::lock_guard lock(store_->mu);
    const Entry* e = find(path);
    if (!e) throw NotFound(path, "no such file or directory");
    if (!e->is_dir) co_return std::vector<FileInfo>{make_info(path, *e)};
    std::vector<FileInfo> out;
    const std::string prefix = child_prefix(path);
    auto& entries = store_->entries;
    for (auto it = entries.lower_bound(prefix);
         it != entries.end() && std::string_view(it->first).starts_with(prefix);) {
      const std::size_t slash = it->first.find('/', prefix.size());
      if (slash == std::string::npos) {
        out.push_back(make_info(it->first, it->second));
        ++it;
      } else {
        // A grandchild: its whole subtree sorts within ["<child>/", "<child>0"); skip it.
        it = entries.lower_bound(it->first.substr(0, slash) + "0");
      }
    }
    co_return out;
  }

  Task<FileInfo> _info(std::string path) override {
    path = strip_protocol(path);
    std::lock_guard lock(store_->mu);
    const Entry* e = find(path);
    if (!e) throw NotFound(path, "no such file or directory");
    co_return make_info(path, *e);
  }

  Task<Bytes> _cat_file(std::string path, std::optional<std::int64_t> start,
                        std::optional<std::int64_t> end) override {
    path = strip_protocol(path);
    std::shared_ptr<const Bytes> data;
    {
      std::lock_guard lock(store_->mu);
      const Entry* e = find(path);
      if (!e) throw NotFound(path, "no such file");
      if (e->is_dir) throw IsADirectory(path, "is a directory");
      data = e->data;
    }
    const auto [s, e] = slice_bounds(data->size(), start, end);
    co_return data->substr(s, e - s);
  }

  Task<void> _pipe_file(std::string path, Bytes data, WriteMode mode) override {
    path = strip_protocol(path);
    auto contents = std::make_shared<const Bytes>(std::move(data));
    std::lock_guard lock(store_->mu);
    if (path == "/") {
      if (mode == WriteMode::kCreate) throw AlreadyExists(path, "file exists");
      throw IsADirectory(path, "is a directory");
    }
    if (const Entry* e = find(path)) {
      if (mode == WriteMode::kCreate) throw AlreadyExists(path, "file exists");
      if (e->is_dir) throw IsADirectory(path, "is a directory");
    }
    ensure_parents(path, /*create=*/true);
    store_->entries[path] = Entry{false, std::move(contents), now_seconds()};
    co_return;
  }

  Task<void> _rm_file(std::string path) override {
    path = strip_protocol(path);
    std::lock_guard lock(store_->mu);
    const Entry* e = find(path);
    if (!e) throw NotFound(path, "no such file");
    if (e->is_dir) throw IsADirectory(path, "is a directory (use rmdir or rm -r)");
    store_->entries.erase(path);
    co_return;
  }

  Task<void> _cp_file(std::string path1, std::string path2) override {
    path1 = strip_protocol(path1);
    path2 = strip_protocol(path2);
    std::lock_guard lock(store_->mu);
    const Entry* src = find(path1);
    if (!src) throw NotFound(path1, "no such file");
    if (src->is_dir) {
      // fsspec: copying a directory entry creates the directory (recursive copies do the rest).
      makedirs_locked(path2, /*exist_ok=*/true);
      co_return;
    }
    if (path1 == path2) co_return;
    auto data = src->data;
    if (const Entry* dst = find(path2); dst && dst->is_dir) {
      throw IsADirectory(path2, "destination is a directory");
    }
    ensure_parents(path2, /*create=*/true);
    store_->entries[path2] = Entry{false, std::move(data), now_seconds()};
  }

  Task<void> _mkdir(std::string path, bool create_parents) override {
    path = strip_protocol(path);
    std::lock_guard lock(store_->mu);
    if (find(path)) throw AlreadyExists(path, "file exists");
    ensure_parents(path, create_parents);
    store_->entries[path] = Entry{true, nullptr, now_seconds()};
    co_return;
  }

  Task<void> _makedirs(std::string path, bool exist_ok) override {
    path = strip_protocol(path);
    std::lock_guard lock(store_->mu);
    makedirs_locked(path, exist_ok);
    co_return;
  }

  Task<void> _rmdir(std::string path) override {
    path = strip_protocol(path);
    std::lock_guard lock(store_->mu);
    if (path == "/") throw InvalidArgument(path, "cannot remove the root directory");
    const Entry* e = find(path);
    if (!e) throw NotFound(path, "no such directory");
    if (!e->is_dir) throw NotADirectory(path, "not a directory");
    // Same kind as the local backend reports for ENOTEMPTY, so callers see one behaviour.
    if (has_children(path)) throw_uv_error(UV_ENOTEMPTY, path, "rmdir");
    store_->entries.erase(path);
    co_return;
  }

  /// rename(2) semantics: a file replaces a file, a directory replaces an empty directory, and
  /// a directory moves with its whole subtree (keys are re-linked, contents never copied).
  Task<void> _mv_file(std::string path1, std::string path2) override {
    path1 = strip_protocol(path1);
    path2 = strip_protocol(path2);
    std::lock_guard lock(store_->mu);
    const Entry* src = find(path1);
    if (!src) throw NotFound(path1, "no such file or directory");
    if (path1 == path2) co_return;
    if (path1 == "/") throw InvalidArgument(path1, "cannot move the root directory");
    if (path2.starts_with(child_prefix(path1))) {
      throw InvalidArgument(path2, "cannot move a directory into itself (" + path1 + ")");
    }
    const bool src_is_dir = src->is_dir;
    if (const Entry* dst = find(path2)) {
      if (!src_is_dir && dst->is_dir) throw IsADirectory(path2, "destination is a directory");
      if (src_is_dir && !dst->is_dir) throw NotADirectory(path2, "destination is not a directory");
      if (src_is_dir && (path2 == "/" || has_children(path2))) {
        throw_uv_error(UV_ENOTEMPTY, path2, "rename");
      }
      store_->entries.erase(path2);
    } else {
      ensure_parents(path2, /*create=*/true);
    }
    auto& entries = store_->entries;
    auto node = entries.extract(path1);
    node.key() = path2;
    entries.insert(std::move(node));
    if (src_is_dir) {
      const std::string from = child_prefix(path1);
      const std::string to = child_prefix(path2);
      std::vector<std::string> keys;
      for (auto it = entries.lower_bound(from);
           it != entries.end() && std::string_view(it->first).starts_with(from); ++it) {
        keys.push_back(it->first);
      }
      for (const auto& k : keys) {
        auto child = entries.extract(k);
        child.key() = to + k.substr(from.size());
        entries.insert(std::move(child));
      }
    }
  }

  Task<double> _modified(std::string path) override {
    path = strip_protocol(path);
    std::lock_guard lock(store_->mu);
    const Entry* e = find(path);
    if (!e) throw NotFound(path, "no such file or directory");
    co_return e->mtime;
  }

 private:
  const Entry* find(std::string_view p) const {
    if (p == "/") return &store_->root;
    auto it = store_->entries.find(p);
    return it == store_->entries.end() ? nullptr : &it->second;
  }

  bool has_children(std::string_view dir) const {
    const std::string prefix = child_prefix(dir);
    auto it = store_->entries.lower_bound(prefix);
    return it != store_->entries.end() && std::string_view(it->first).starts_with(prefix);
  }

  /// Checks (and with `create`, creates) the ancestors of `p`. Checks everything before
  /// creating anything, so a failure leaves the store unchanged.
  void ensure_parents(std::string_view p, bool create) {
    const auto chain = ancestors(p);
    std::vector<std::string_view> missing;
    for (auto a : chain) {
      const Entry* e = find(a);
      if (!e) {
        if (!create)
          throw NotFound(std::string(p), "parent directory " + std::string(a) + " does not exist");
        missing.push_back(a);
      } else if (!e->is_dir) {
        throw NotADirectory(std::string(p), std::string(a) + " is a file");
      }
    }
    const double now = now_seconds();
    for (auto a : missing) store_->entries.emplace(std::string(a), Entry{true, nullptr, now});
  }

  void makedirs_locked(const std::string& path, bool exist_ok) {
    if (const Entry* e = find(path)) {
      if (e->is_dir && exist_ok) return;
      throw AlreadyExists(path, e->is_dir ? "directory exists" : "a file exists at this path");
    }
    ensure_parents(path, /*create=*/true);
    store_->entries.emplace(path, Entry{true, nullptr, now_seconds()});
  }

  std::shared_ptr<Store> store_;
};

}  // namespace

MemoryOptions MemoryOptions::from(Options opts, std::shared_ptr<IoThread> io) {
  MemoryOptions out;
  out.base = FsBaseOptions::from(opts, std::move(io));
  opts.check_known(kProtocol, {});
  out.shared_store = true;
  return out;
}

std::shared_ptr<AsyncFileSystem> make_filesystem(MemoryOptions options) {
  auto store = options.shared_store ? shared_store() : std::make_shared<Store>();
  return std::make_shared<MemoryFileSystem>(std::move(options.base), std::move(store));
}

void clear_shared_store() {
  auto store = shared_store();
  std::lock_guard lock(store->mu);
  store->entries.clear();
}

}  // namespace asyncfs::memory
