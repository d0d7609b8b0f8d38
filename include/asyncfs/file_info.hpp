#pragma once
/// \file file_info.hpp
/// \brief FileInfo: what `info`/`ls` report about one entry.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace asyncfs {

enum class FileType { kFile, kDirectory, kOther };

/// "file", "directory" or "other" (fsspec's type strings).
std::string_view file_type_name(FileType t) noexcept;

struct FileInfo {
  std::string name;                   ///< full path, without protocol (full URL for HTTP)
  std::optional<std::uint64_t> size;  ///< unknown is nullopt, never 0
  FileType type = FileType::kFile;
  std::optional<double> mtime;        ///< seconds since the epoch
  std::optional<std::uint32_t> mode;  ///< POSIX permission bits and type
  std::optional<std::string> link_target;
  std::optional<std::string> etag;
  std::map<std::string, std::string> extra;  ///< anything else a backend reports

  bool is_dir() const noexcept { return type == FileType::kDirectory; }
  bool is_file() const noexcept { return type == FileType::kFile; }
  bool operator==(const FileInfo&) const = default;
};

}  // namespace asyncfs
