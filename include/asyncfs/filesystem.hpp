#pragma once
/// \file filesystem.hpp
/// \brief AsyncFileSystem: coroutine hooks, composite operations built on them, blocking twins.
///
/// A backend overrides the hooks it can serve (`_ls`, `_info`, `_cat_file`, ...). The base
/// builds everything else on them (`_cat`, `_find`, `_glob`, `_get`, `_rm`, ...) and may be
/// overridden where a backend knows a faster way. Every coroutine runs on the filesystem's
/// IoThread; every blocking method (same name without the underscore) is one sync() call and
/// may be used from any thread but the loop thread.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncfs/bytes.hpp"
#include "asyncfs/callback.hpp"
#include "asyncfs/errors.hpp"
#include "asyncfs/file_info.hpp"
#include "asyncfs/io_thread.hpp"
#include "asyncfs/options.hpp"
#include "asyncfs/outcome.hpp"
#include "asyncfs/sync.hpp"
#include "asyncfs/task.hpp"

namespace asyncfs {

class AsyncFile;
class File;

/// Optional per-call timeout of the blocking methods; nullopt waits forever.
using CallTimeout = std::optional<Duration>;

/// What a bulk call does with a failed item.
enum class OnError {
  kRaise,   ///< throw the first failure (in path order), after every item has finished
  kOmit,    ///< leave failed items out
  kReturn,  ///< keep the exception in the item's Outcome
  kIgnore,  ///< copy only: skip sources that vanished (NotFound), raise anything else
};

enum class WriteMode {
  kOverwrite,
  kCreate,  ///< fail with AlreadyExists if the target exists
};

/// \brief A path argument that is either one string (expanded, maybe a glob) or a list.
///
/// fsspec distinguishes the two: `cat(list)` always returns a map, `get(list, dir)` flattens
/// sources to their basenames, `copy(list, list)` pairs items 1:1 without expansion.
struct Paths {
  Paths(std::string p) : items{std::move(p)} {}    // NOLINT: implicit by design
  Paths(const char* p) : items{std::string(p)} {}  // NOLINT
  Paths(std::vector<std::string> ps) : items(std::move(ps)), is_list(true) {}  // NOLINT
  Paths(std::initializer_list<std::string> ps) : items(ps), is_list(true) {}   // NOLINT
  std::vector<std::string> items;
  bool is_list = false;
};

/// \brief What a backend can do, as data: generic code and the conformance suite read it.
struct Capabilities {
  bool list = true;               ///< _ls works
  bool read = true;               ///< _cat_file works
  bool range_read = true;         ///< _cat_file honours start/end without reading everything
  bool write = true;              ///< _pipe_file / _put_file / _open("wb")
  bool remove = true;             ///< _rm_file
  bool mkdir = true;              ///< directories can be created
  bool real_directories = true;   ///< empty directories exist (false: implied by their files)
  bool rename = true;             ///< _mv_file is cheap (no copy)
  bool copy = true;               ///< _cp_file on the server side
  bool modified_time = false;     ///< _modified works
  bool size_always_known = true;  ///< info().size is never nullopt for files
  bool local = false;             ///< paths are local files of this machine
  /// Listings report directories with a trailing "/" and strip_protocol keeps it, because
  /// the "/" is part of the name (HTTP: the index URL without it may 404 or redirect).
  bool dir_names_keep_trailing_slash = false;
  /// ls/find/walk/glob entries of files carry their size (false: only info() knows it, as
  /// an HTML index has no sizes; entries then say nullopt, never a guessed 0).
  bool listing_sizes_known = true;
  /// Paths are URLs: characters outside RFC 3986 path characters (space, '#', '%', '?',
  /// non-ASCII) must be written percent-encoded, and listings return names in that form.
  bool names_are_urls = false;
  /// '?' in a glob matches one character (false: it is taken literally, as in a URL it
  /// starts the query string).
  bool question_mark_is_wildcard = true;
  /// Errors from a server reply carry its status in http_status() (e.g. 404 on NotFound).
  bool errors_carry_http_status = false;
};

/// \brief Result of `cat`: one entry per path, and whether fsspec would return plain bytes.
struct CatResult {
  std::map<std::string, Outcome<Bytes>> items;  ///< sorted by path
  /// True when one literal path (not a list, not a glob, not recursive) was asked for.
  bool single = false;
  /// The bytes of the single path (rethrows its error). \throws InvalidArgument if !single.
  const Bytes& value() const;
};

struct CatOptions {
  bool recursive = false;
  OnError on_error = OnError::kRaise;
  std::optional<int> batch_size;
  Callback* progress = nullptr;  ///< one tick per finished file
};

struct FindOptions {
  std::optional<int> maxdepth;  ///< >= 1; nullopt = unlimited
  bool withdirs = false;        ///< also return directories (and the root if it is one)
  std::string prefix;           ///< only names starting with root/prefix (a listing hint)
};

struct WalkOptions {
  std::optional<int> maxdepth;
  bool topdown = true;
  OnError on_error = OnError::kOmit;  ///< kOmit: an unreadable dir is empty; kRaise: throw
};

struct WalkEntry {
  std::string root;
  std::map<std::string, FileInfo> dirs;   ///< basename → info
  std::map<std::string, FileInfo> files;  ///< basename → info
};

struct GlobOptions {
  std::optional<int> maxdepth;
  bool withdirs = true;
};

struct DuOptions {
  std::optional<int> maxdepth;
  bool withdirs = false;
};

struct TransferOptions {
  bool recursive = false;
  std::optional<int> maxdepth;
  std::optional<int> batch_size;
  Callback* progress = nullptr;  ///< set_size(files), one tick per finished file, branch()
  /// Default (nullopt): kRaise, except a recursive copy which skips sources that vanished
  /// between listing and copying (kIgnore), as fsspec does.
  std::optional<OnError> on_error;
};

struct RmOptions {
  bool recursive = false;
  std::optional<int> maxdepth;
  std::optional<int> batch_size;
};

struct OpenOptions {
  std::optional<std::size_t> block_size;  ///< read-ahead / upload chunk size
  std::string cache_type;                 ///< "" = the backend's default
  std::optional<std::uint64_t> size;      ///< known size (skips an info call)
};

/// \brief Base options every filesystem understands (keys "batch_size", "asynchronous").
struct FsBaseOptions {
  std::shared_ptr<IoThread> io;  ///< nullptr = default_io_thread()
  std::optional<int> batch_size;
  bool asynchronous = false;  ///< used only from coroutines; blocking methods throw
  /// Reads and removes the base keys from `opts`.
  static FsBaseOptions from(Options& opts, std::shared_ptr<IoThread> io);
};

class AsyncFileSystem : public std::enable_shared_from_this<AsyncFileSystem> {
 public:
  explicit AsyncFileSystem(FsBaseOptions base);
  virtual ~AsyncFileSystem();
  AsyncFileSystem(const AsyncFileSystem&) = delete;
  AsyncFileSystem& operator=(const AsyncFileSystem&) = delete;

  // --- identity and paths -------------------------------------------------------------------
  /// Canonical protocol name ("memory", "file", "http").
  virtual std::string protocol() const = 0;
  virtual Capabilities capabilities() const = 0;
  /// The minimal path ("/" for local and memory, "" for HTTP).
  virtual std::string root_marker() const { return ""; }
  /// Path without "proto://" and trailing "/"; validates it (empty, non-UTF-8 → InvalidArgument).
  virtual std::string strip_protocol(std::string_view path) const;
  /// "proto://" + path unless it already carries the protocol.
  virtual std::string unstrip_protocol(std::string_view path) const;
  /// Parent of a stripped path (keeps root_marker).
  virtual std::string parent(std::string_view path) const;
  /// \brief Where the first glob wildcard of `path` is, or npos: '*', '[' and (when the
  /// capabilities say so) '?'. A backend whose paths have other literal brackets overrides it
  /// (HTTP: an IPv6 host "[::1]" is not a pattern).
  virtual std::size_t find_magic(std::string_view path) const;
  /// Whether `path` is a glob pattern for this filesystem (fsspec's has_magic).
  bool has_magic(std::string_view path) const { return find_magic(path) != std::string_view::npos; }

  IoThread& io() const noexcept { return *io_; }
  const std::shared_ptr<IoThread>& io_ptr() const noexcept { return io_; }
  bool asynchronous() const noexcept { return asynchronous_; }
  std::optional<int> batch_size() const noexcept { return batch_size_; }

  // --- hooks a backend implements (defaults throw NotImplemented) ---------------------------
  virtual Task<std::vector<FileInfo>> _ls(std::string path);
  virtual Task<FileInfo> _info(std::string path);
  /// Bytes [start, end) with Python slice semantics (negative counts from the end).
  virtual Task<Bytes> _cat_file(std::string path, std::optional<std::int64_t> start,
                                std::optional<std::int64_t> end);
  virtual Task<void> _pipe_file(std::string path, Bytes data, WriteMode mode);
  /// Streams a remote file to a local path (temp file renamed into place).
  virtual Task<void> _get_file(std::string rpath, std::string lpath, Callback* progress);
  virtual Task<void> _put_file(std::string lpath, std::string rpath, Callback* progress,
                               WriteMode mode);
  virtual Task<void> _rm_file(std::string path);
  virtual Task<void> _cp_file(std::string path1, std::string path2);
  virtual Task<void> _mkdir(std::string path, bool create_parents);
  virtual Task<void> _makedirs(std::string path, bool exist_ok);
  virtual Task<void> _rmdir(std::string path);
  /// Default: copy then remove.
  virtual Task<void> _mv_file(std::string path1, std::string path2);
  /// Default: a hex digest of info() (name, size, mtime, etag).
  virtual Task<std::string> _checksum(std::string path);
  /// Modification time in seconds since the epoch.
  virtual Task<double> _modified(std::string path);
  /// File object. Default: range reads through _cat_file, writes buffered into _pipe_file.
  virtual Task<std::unique_ptr<AsyncFile>> _open(std::string path, std::string mode,
                                                 OpenOptions opts);
  /// \brief A whole file as a stream: `on_data` gets its bytes in order, chunk by chunk, and
  /// the byte count is returned. Memory holds a buffer, never the body (cat --discard, a
  /// digest, a pipe). `on_data` runs on the loop thread and must not block; what it throws
  /// ends the read and is rethrown. Default: _open(path, "rb") read 1 MiB at a time.
  virtual Task<std::uint64_t> _stream_file(std::string path,
                                           UniqueFunction<void(std::string_view)> on_data);

  // --- composite coroutines built on the hooks ----------------------------------------------
  virtual Task<CatResult> _cat(Paths paths, CatOptions opts);
  /// Streams each file to `sink` as it finishes (completion order) and keeps nothing:
  /// memory stays bounded by the window. Returns the number of failed items.
  virtual Task<std::size_t> _cat_each(
      Paths paths, UniqueFunction<void(const std::string&, Outcome<Bytes>&&)> sink,
      CatOptions opts);
  /// One Outcome per (path, start, end), aligned with the inputs (fsspec on_error="return").
  virtual Task<std::vector<Outcome<Bytes>>> _cat_ranges(
      std::vector<std::string> paths, std::vector<std::optional<std::int64_t>> starts,
      std::vector<std::optional<std::int64_t>> ends, std::optional<int> batch_size);
  virtual Task<void> _pipe(std::map<std::string, Bytes> items, std::optional<int> batch_size);
  /// False only for NotFound; other failures (timeouts, 5xx, permissions) propagate.
  virtual Task<bool> _exists(std::string path);
  virtual Task<bool> _isdir(std::string path);
  virtual Task<bool> _isfile(std::string path);
  virtual Task<std::optional<std::uint64_t>> _size(std::string path);
  virtual Task<std::vector<std::optional<std::uint64_t>>> _sizes(std::vector<std::string> paths,
                                                                 std::optional<int> batch_size);
  virtual Task<std::vector<WalkEntry>> _walk(std::string path, WalkOptions opts);
  /// Sorted name → info of every file below `path` (and dirs with withdirs).
  virtual Task<std::map<std::string, FileInfo>> _find(std::string path, FindOptions opts);
  virtual Task<std::map<std::string, FileInfo>> _glob(std::string pattern, GlobOptions opts);
  /// Size of every file below `path` (and 0-sized dirs with withdirs).
  virtual Task<std::map<std::string, std::uint64_t>> _du(std::string path, DuOptions opts);
  /// Sorted, de-duplicated expansion of globs (and of directories when recursive).
  /// \throws NotFound when nothing matches; InvalidArgument for maxdepth < 1.
  virtual Task<std::vector<std::string>> _expand_path(Paths paths, bool recursive,
                                                      std::optional<int> maxdepth);
  virtual Task<void> _get(Paths rpaths, Paths lpaths, TransferOptions opts);
  virtual Task<void> _put(Paths lpaths, Paths rpaths, TransferOptions opts);
  virtual Task<void> _copy(Paths path1, Paths path2, TransferOptions opts);
  virtual Task<void> _mv(Paths path1, Paths path2, TransferOptions opts);
  /// Deletes files, then directories deepest first.
  virtual Task<void> _rm(Paths paths, RmOptions opts);

  // --- blocking twins -----------------------------------------------------------------------
  std::vector<FileInfo> ls(std::string path, CallTimeout t = {});
  std::vector<std::string> ls_names(std::string path, CallTimeout t = {});
  FileInfo info(std::string path, CallTimeout t = {});
  Bytes cat_file(std::string path, std::optional<std::int64_t> start = {},
                 std::optional<std::int64_t> end = {}, CallTimeout t = {});
  CatResult cat(Paths paths, CatOptions opts = {}, CallTimeout t = {});
  /// See _stream_file: `on_data` runs on the IO thread, not the caller's.
  std::uint64_t stream_file(std::string path, UniqueFunction<void(std::string_view)> on_data,
                            CallTimeout t = {});
  std::vector<Outcome<Bytes>> cat_ranges(std::vector<std::string> paths,
                                         std::vector<std::optional<std::int64_t>> starts,
                                         std::vector<std::optional<std::int64_t>> ends,
                                         CallTimeout t = {});
  void pipe_file(std::string path, Bytes data, WriteMode mode = WriteMode::kOverwrite,
                 CallTimeout t = {});
  void pipe(std::map<std::string, Bytes> items, CallTimeout t = {});
  void get_file(std::string rpath, std::string lpath, Callback* progress = nullptr,
                CallTimeout t = {});
  void put_file(std::string lpath, std::string rpath, Callback* progress = nullptr,
                CallTimeout t = {});
  void rm_file(std::string path, CallTimeout t = {});
  void cp_file(std::string path1, std::string path2, CallTimeout t = {});
  void mkdir(std::string path, bool create_parents = true, CallTimeout t = {});
  void makedirs(std::string path, bool exist_ok = false, CallTimeout t = {});
  void rmdir(std::string path, CallTimeout t = {});
  std::string checksum(std::string path, CallTimeout t = {});
  double modified(std::string path, CallTimeout t = {});
  bool exists(std::string path, CallTimeout t = {});
  bool isdir(std::string path, CallTimeout t = {});
  bool isfile(std::string path, CallTimeout t = {});
  std::optional<std::uint64_t> size(std::string path, CallTimeout t = {});
  std::vector<std::optional<std::uint64_t>> sizes(std::vector<std::string> paths,
                                                  CallTimeout t = {});
  std::vector<WalkEntry> walk(std::string path, WalkOptions opts = {}, CallTimeout t = {});
  std::map<std::string, FileInfo> find(std::string path, FindOptions opts = {}, CallTimeout t = {});
  std::map<std::string, FileInfo> glob(std::string pattern, GlobOptions opts = {},
                                       CallTimeout t = {});
  std::map<std::string, std::uint64_t> du(std::string path, DuOptions opts = {},
                                          CallTimeout t = {});
  std::uint64_t du_total(std::string path, DuOptions opts = {}, CallTimeout t = {});
  std::vector<std::string> expand_path(Paths paths, bool recursive = false,
                                       std::optional<int> maxdepth = {}, CallTimeout t = {});
  void get(Paths rpaths, Paths lpaths, TransferOptions opts = {}, CallTimeout t = {});
  void put(Paths lpaths, Paths rpaths, TransferOptions opts = {}, CallTimeout t = {});
  void copy(Paths path1, Paths path2, TransferOptions opts = {}, CallTimeout t = {});
  void mv(Paths path1, Paths path2, TransferOptions opts = {}, CallTimeout t = {});
  void rm(Paths paths, RmOptions opts = {}, CallTimeout t = {});
  /// Blocking file object ("rb", "wb", "ab", "xb").
  File open(std::string path, std::string mode = "rb", OpenOptions opts = {}, CallTimeout t = {});

  /// \brief Runs a coroutine of this filesystem through sync(), keeping the filesystem alive
  /// until the task ends (even after a timeout).
  /// \param keepalive replaces the default keep-alive (this filesystem); it must keep this
  ///        filesystem alive too, plus whatever else the task uses (a file object).
  /// \throws InvalidArgument in asynchronous mode.
  template <class T>
  T run_sync(Task<T> task, CallTimeout timeout = {},
             std::shared_ptr<const void> keepalive = nullptr, std::string about = {}) {
    check_blocking_allowed();
    if (!keepalive) keepalive = shared_from_this();
    return sync(*io_, std::move(task), timeout, std::move(keepalive), std::move(about));
  }
  /// Same, naming `about` (the path or URL) in a Timeout.
  template <class T>
  T run_sync(Task<T> task, CallTimeout timeout, std::string about) {
    return run_sync(std::move(task), timeout, nullptr, std::move(about));
  }

  /// \brief The blocking twin of a backend's own coroutine in one line:
  /// `void chmod(std::string p, int m) { sync_wrapper(&MyFs::_chmod, std::move(p), m); }`
  template <class Self, class R, class... P, class... A>
  R sync_wrapper(Task<R> (Self::*hook)(P...), A&&... args) {
    // The first argument, when it is a string, is the path a Timeout names; copied before
    // the arguments are forwarded (and maybe moved from).
    std::string about = first_path(args...);
    return run_sync((static_cast<Self*>(this)->*hook)(std::forward<A>(args)...), CallTimeout{},
                    std::move(about));
  }

 protected:
  template <class First, class... Rest>
  static std::string first_path(const First& first, const Rest&...) {
    if constexpr (std::is_convertible_v<const First&, std::string_view>) {
      return std::string(std::string_view(first));
    } else {
      return {};
    }
  }
  static std::string first_path() { return {}; }

  /// Resolves a bulk call's window (call > instance > config > default).
  int window(std::optional<int> call, bool nofiles) const;
  [[noreturn]] void not_implemented(std::string_view op, const std::string& path) const;

 private:
  void check_blocking_allowed() const;
  std::shared_ptr<IoThread> io_;
  std::optional<int> batch_size_;
  bool asynchronous_ = false;
};

}  // namespace asyncfs
