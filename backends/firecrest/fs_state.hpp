#pragma once
// Private parts of FirecrestFileSystem shared by fs.cpp (paths, listings, metadata) and
// fs_io.cpp (reads, writes, file objects).

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "asyncfs/backends/firecrest_fs.hpp"
#include "core/wait_queue.hpp"

namespace asyncfs::firecrest {

/// A stripped path split into the system and the absolute path on it.
struct RemotePath {
  std::string system;  ///< lower-case
  std::string path;    ///< absolute ("/" for the system's root)
  /// "system/abs/path" (the stripped form), "system" for the root.
  std::string name() const { return path == "/" ? system : system + path; }
  /// "firecrest://system/abs/path" for messages.
  std::string url() const;
};

/// Splits a stripped path; throws InvalidArgument for one without a system.
RemotePath split_remote(std::string_view stripped);

/// \brief A staged (S3) copy of a large file, shared by the reads of that file while its
/// presigned URL is valid: ranged cat_file calls and open("rb") files stage a file once.
struct StagedCopy {
  std::uint64_t size = 0;
  std::int64_t mtime = 0;
  std::chrono::steady_clock::time_point expires;
  std::shared_ptr<Transfer> transfer;  ///< null while the staging job runs
  std::exception_ptr failed;
  std::unique_ptr<WaitQueue> ready;  ///< readers waiting for the job
};

struct FirecrestFileSystem::State {
  /// "system\n/path" → the staged copy (loop thread only).
  std::map<std::string, std::shared_ptr<StagedCopy>> staged;
};

/// FileInfo of a listing entry named `name` (its strings are moved, not copied: listings
/// have thousands of entries).
FileInfo info_of(std::string name, RemoteFile f);
/// FileInfo of a stat result.
FileInfo info_of(std::string name, const StatResult& st);

}  // namespace asyncfs::firecrest
