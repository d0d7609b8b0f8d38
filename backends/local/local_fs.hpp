#pragma once
// Private declarations of the local (file://) backend, shared by local_fs.cpp and
// local_file.cpp.

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "asyncfs/backends/local.hpp"
#include "asyncfs/file.hpp"
#include "asyncfs/filesystem.hpp"
#include "core/fs/temp_file.hpp"

namespace asyncfs::local {

using uvfs::commit_temp;
using uvfs::create_temp;
using uvfs::discard_temp;
using uvfs::TempFile;
using uvfs::write_all;

class LocalFileSystem final : public AsyncFileSystem {
 public:
  explicit LocalFileSystem(LocalOptions options);

  std::string protocol() const override { return "file"; }
  Capabilities capabilities() const override;
  std::string root_marker() const override { return "/"; }
  /// "file:///abs", "file://localhost/abs", "local:///abs" and "/abs" → "/abs"; a relative
  /// path (also "~", "~/x") → absolute against the current directory (or $HOME); "." and ".."
  /// components are resolved lexically, like fsspec's make_path_posix. "file://host/..." is
  /// rejected, and so are NUL bytes and non-UTF-8 input (the API speaks UTF-8; listings still
  /// report names on disk that are not UTF-8, as raw bytes).
  std::string strip_protocol(std::string_view path) const override;

  Task<std::vector<FileInfo>> _ls(std::string path) override;
  Task<FileInfo> _info(std::string path) override;
  Task<Bytes> _cat_file(std::string path, std::optional<std::int64_t> start,
                        std::optional<std::int64_t> end) override;
  Task<void> _pipe_file(std::string path, Bytes data, WriteMode mode) override;
  Task<void> _get_file(std::string rpath, std::string lpath, Callback* progress) override;
  Task<void> _put_file(std::string lpath, std::string rpath, Callback* progress,
                       WriteMode mode) override;
  Task<void> _rm_file(std::string path) override;
  Task<void> _cp_file(std::string path1, std::string path2) override;
  Task<void> _mkdir(std::string path, bool create_parents) override;
  Task<void> _makedirs(std::string path, bool exist_ok) override;
  Task<void> _rmdir(std::string path) override;
  Task<void> _mv_file(std::string path1, std::string path2) override;
  Task<double> _modified(std::string path) override;
  Task<std::unique_ptr<AsyncFile>> _open(std::string path, std::string mode,
                                         OpenOptions opts) override;

  std::size_t block_size() const noexcept { return block_size_; }
  uv_loop_t* loop() const noexcept { return io().loop(); }

  /// Before writing `path` (stripped): auto_mkdir's parents, and the early AlreadyExists of
  /// kCreate (the commit re-checks atomically).
  Task<void> prepare_target(std::string path, WriteMode mode);

 private:
  /// Streams src → temp → dst in block_size chunks with progress (bytes) and stop checks.
  Task<void> copy_chunked(std::string src, std::string dst, Callback* progress, WriteMode mode);
  /// uv_fs_copyfile (reflink or copy_file_range in the kernel) into a temp, then rename.
  Task<void> copy_whole(std::string src, std::string dst);

  std::size_t block_size_;
  bool auto_mkdir_;
};

/// Opens a native file of `fs` (path already stripped, mode already validated).
Task<std::unique_ptr<AsyncFile>> open_local_file(std::shared_ptr<LocalFileSystem> fs,
                                                 std::string path, std::string mode,
                                                 OpenOptions opts);

}  // namespace asyncfs::local
