#pragma once
/// \file backends/firecrest_fs.hpp
/// \brief firecrest:// — an HPC cluster's storage through the FirecREST v2 API, as a filesystem.
///
/// Paths are `SYSTEM/abs/path` (`firecrest://daint/scratch/u/x` strips to
/// `daint/scratch/u/x`; the system name is lower-cased). Every fsspec operation works:
///
/// - `ls`, `info`, `find`, `glob`, `walk`, `du`: `ops/ls` and `ops/stat`; `find` (and so `glob`
///   and `du`) is one recursive listing however deep the tree.
/// - reads: small files through `ops/download` (one request per file); larger ones are staged
///   through S3 (a transfer job, then parallel ranged GETs on its presigned URL). `open("rb")`
///   and ranged `cat_file` reuse one staged copy per file until its URL expires.
/// - writes: small files through `ops/upload`; larger ones through the S3 multipart flow
///   (parallel part uploads, complete, then the transfer job, whose log is checked).
///   `open("wb")` spools to a local temporary file, so memory stays bounded.
/// - `mv`, `cp`: server-side transfer jobs. `rm`: the server's rm is recursive, so a
///   non-recursive rm of a directory is refused here before anything is sent.
///
/// The client (`asyncfs::firecrest::Client`, backends/firecrest.hpp) carries authentication,
/// rate control and retries; `client()` gives it to code that also submits jobs.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "asyncfs/backends/firecrest.hpp"
#include "asyncfs/filesystem.hpp"

namespace asyncfs::firecrest {

/// \brief Typed options of the filesystem: the client's options plus the filesystem's own.
struct FirecrestFsOptions {
  FsBaseOptions base;       ///< "batch_size", "asynchronous"
  FirecrestOptions client;  ///< every key of FirecrestOptions (and its environment variables)
  /// Read-ahead of files opened for reading ("block_size", bytes).
  std::size_t block_size = 8 << 20;
  /// get/put compare the SHA-256 of the local file with the server's (ops/checksum) and
  /// fail on a mismatch ("verify_checksum"). Off by default: the server hashes under a 5 s
  /// command timeout, which very large files exceed.
  bool verify_checksum = false;

  /// The filesystem's keys, then FirecrestOptions::from_config() for the rest (unknown keys
  /// throw InvalidArgument naming the key).
  static FirecrestFsOptions from(Options opts, std::shared_ptr<IoThread> io);
};

/// \brief The firecrest:// filesystem. Backend-specific coroutines have blocking twins.
class FirecrestFileSystem final : public AsyncFileSystem {
 public:
  explicit FirecrestFileSystem(FirecrestFsOptions options);
  ~FirecrestFileSystem() override;

  std::string protocol() const override { return "firecrest"; }
  Capabilities capabilities() const override;
  /// "firecrest://daint/a/b/" → "daint/a/b". Throws InvalidArgument without a system name, for
  /// NUL, line breaks, single quotes, non-UTF-8 or an invalid system name.
  std::string strip_protocol(std::string_view path) const override;

  Task<std::vector<FileInfo>> _ls(std::string path) override;
  Task<FileInfo> _info(std::string path) override;
  Task<Bytes> _cat_file(std::string path, std::optional<std::int64_t> start,
                        std::optional<std::int64_t> end) override;
  Task<void> _pipe_file(std::string path, Bytes data, WriteMode mode) override;
  Task<void> _get_file(std::string rpath, std::string lpath, Callback* progress) override;
  Task<void> _put_file(std::string lpath, std::string rpath, Callback* progress,
                       WriteMode mode) override;
  /// Refuses directories (the server's rm is recursive).
  Task<void> _rm_file(std::string path) override;
  /// Recursive removals are one server-side rm per top-level path.
  Task<void> _rm(Paths paths, RmOptions opts) override;
  /// A transfer job on the cluster (`cp -R --preserve`); between systems, through this machine.
  Task<void> _cp_file(std::string path1, std::string path2) override;
  /// A transfer job on the cluster (`mv`); between systems, copy then remove.
  Task<void> _mv_file(std::string path1, std::string path2) override;
  Task<void> _mkdir(std::string path, bool create_parents) override;
  Task<void> _makedirs(std::string path, bool exist_ok) override;
  Task<void> _rmdir(std::string path) override;
  Task<double> _modified(std::string path) override;
  /// One recursive listing (ops/ls -R); falls back to a walk when the server refuses it as too
  /// large or too slow.
  Task<std::map<std::string, FileInfo>> _find(std::string path, FindOptions opts) override;
  /// A recursive copy of one directory within a system is one `cp -R` job; anything else
  /// follows the base (one job per file).
  Task<void> _copy(Paths path1, Paths path2, TransferOptions opts) override;
  /// A recursive move of one directory within a system is one `mv` job.
  Task<void> _mv(Paths path1, Paths path2, TransferOptions opts) override;
  Task<std::unique_ptr<AsyncFile>> _open(std::string path, std::string mode,
                                         OpenOptions opts) override;

  // --- FirecREST-specific operations --------------------------------------------------------
  /// `mode` is octal text ("755") or symbolic as chmod(1) takes it.
  Task<FileInfo> _chmod(std::string path, std::string mode);
  /// Either may be empty (unchanged).
  Task<FileInfo> _chown(std::string path, std::string owner, std::string group);
  /// Creates `link` pointing at `target` (an absolute path on the same system).
  Task<FileInfo> _symlink(std::string target, std::string link);
  /// SHA-256 of the file's content, computed on the cluster (hex).
  Task<std::string> _sha256(std::string path);
  /// `file -b` of the path ("ASCII text", "directory", ...).
  Task<std::string> _file_type(std::string path);

  FileInfo chmod(std::string path, std::string mode) {
    return sync_wrapper(&FirecrestFileSystem::_chmod, std::move(path), std::move(mode));
  }
  FileInfo chown(std::string path, std::string owner, std::string group) {
    return sync_wrapper(&FirecrestFileSystem::_chown, std::move(path), std::move(owner),
                        std::move(group));
  }
  FileInfo symlink(std::string target, std::string link) {
    return sync_wrapper(&FirecrestFileSystem::_symlink, std::move(target), std::move(link));
  }
  std::string sha256(std::string path) {
    return sync_wrapper(&FirecrestFileSystem::_sha256, std::move(path));
  }
  std::string file_type(std::string path) {
    return sync_wrapper(&FirecrestFileSystem::_file_type, std::move(path));
  }

  /// The client under this filesystem (jobs, transfers, status).
  const std::shared_ptr<Client>& client() const noexcept { return client_; }
  const FirecrestFsOptions& options() const noexcept { return options_; }

  /// Opaque; public only so the implementation files can name it.
  struct State;

 private:
  /// Files up to this size go through ops/upload and ops/download (fs_io.cpp).
  Task<std::uint64_t> direct_limit(std::string system);
  /// The staged copy of a large file, shared while its URL lasts (one staging job per file).
  Task<std::shared_ptr<Transfer>> staged_copy(std::string system, std::string path, StatResult st);
  /// Bytes [first, last) of a large file through its staged copy; a copy whose URL expired
  /// is staged again once.
  Task<Bytes> read_staged(std::string system, std::string path, StatResult st, std::uint64_t first,
                          std::uint64_t last);
  Task<void> verify(std::string system, std::string path, std::string local_path);
  Task<void> copy_between_systems(std::string from, std::string to);
  /// The one-job form of a recursive copy or move, when it gives fsspec's result; false when
  /// the call must go the general way.
  Task<bool> tree_in_one_job(Paths from, Paths to, TransferOptions opts, bool move);

  FirecrestFsOptions options_;
  std::shared_ptr<Client> client_;
  std::unique_ptr<State> state_;
};

/// A firecrest:// filesystem (validates the options: a URL and credentials are required).
std::shared_ptr<FirecrestFileSystem> make_filesystem(FirecrestFsOptions options);

}  // namespace asyncfs::firecrest
