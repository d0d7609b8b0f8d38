#pragma once
// Temporary files that become their final name atomically, for every writer of local files
// (the file:// backend, get_file of network backends, core transfers): a download that fails
// halfway leaves neither a temporary nor a partial final file.

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "asyncfs/filesystem.hpp"
#include "asyncfs/task.hpp"
#include "asyncfs/unique_function.hpp"

namespace asyncfs::uvfs {

/// A temp file being written next to its final name; fd is -1 once closed.
struct TempFile {
  uv_file fd = -1;
  std::string path;
};

/// \brief Creates `<dir>/.<name>.asyncfs-XXXXXX` for `target` with O_CREAT|O_EXCL and mode
/// 0666 (the umask applies, as for any new file). Errors name `target`.
Task<TempFile> create_temp(uv_loop_t* loop, std::string target);

/// \brief Moves a finished (closed) temp file to `target`. kOverwrite: rename(2). kCreate:
/// renameat2(RENAME_NOREPLACE), falling back to link()+unlink() and, where the filesystem
/// has neither, to a check followed by rename (a small race only there).
Task<void> commit_temp(uv_loop_t* loop, std::string temp, std::string target, WriteMode mode);

/// Closes the temp file if still open and unlinks it. Never throws.
Task<void> discard_temp(uv_loop_t* loop, TempFile tmp);

/// Writes [data, data+len) at `offset` in chunks of at most `chunk` bytes, checking for a stop
/// request between chunks.
Task<void> write_all(uv_loop_t* loop, uv_file fd, const char* data, std::size_t len,
                     std::int64_t offset, std::size_t chunk, std::string what);

/// \brief Writes `target` atomically: makes its parent directories, creates a temp file beside
/// it, lets `fill(fd)` write the temp, then closes and renames it into place (kOverwrite). On
/// any failure (or cancellation) the temp goes and the error is rethrown: no partial file is
/// ever visible under `target`.
Task<void> write_atomically(uv_loop_t* loop, std::string target,
                            UniqueFunction<Task<void>(uv_file)> fill);

/// `mkdir -p`: creates `path` and its missing parents. An existing directory is fine when
/// `exist_ok`, else AlreadyExists; a file in the way throws (AlreadyExists / NotADirectory).
Task<void> make_dirs(uv_loop_t* loop, std::string path, bool exist_ok = true);

}  // namespace asyncfs::uvfs
